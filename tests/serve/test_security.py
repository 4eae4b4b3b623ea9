"""API keys and owners, loopback-only without keys."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx2
import openai
import pytest

from autograms.cli.serve import api_keys, check_host, check_store_url
from autograms.cli._common import CliError
from tests.serve.bots.streamer import WELCOME
from tests.serve.server import HTTP, ROOT, STREAMER, ServeProcess

ALPHA, BETA, GAMMA = "alpha-key-1", "beta-key-2", "gamma-key-3"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, config):
    """A service with three keys: two on the command line, one in the environment."""
    process = ServeProcess(
        tmp_path_factory.mktemp("keyed"),
        "--api-key", ALPHA, "--api-key", BETA,
        config=config,
        env={"AUTOGRAMS_API_KEYS": f" {GAMMA} ,"},
    ).start()  # fmt: skip
    yield process
    process.stop()


def call(service, method: str, path: str, key: str | None, **options) -> httpx2.Response:
    headers = {**options.pop("headers", {})}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return HTTP.request(method, f"{service.url}{path}", headers=headers, timeout=30, **options)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/sessions"),
        ("GET", "/v1/sessions"),
        ("GET", "/v1/sessions/x"),
        ("DELETE", "/v1/sessions/x"),
        ("POST", "/v1/sessions/x/messages"),
        ("GET", "/metrics"),
    ],
)
def test_every_api_route_needs_a_valid_key(keyed, method, path):
    missing = call(keyed, method, path, None, json={})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = call(keyed, method, path, "not-a-key", json={})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"


def test_the_page_and_the_health_check_need_no_key(keyed):
    assert call(keyed, "GET", "/", None).status_code == 200
    assert call(keyed, "GET", "/static/chat.js", None).status_code == 200
    assert call(keyed, "GET", "/healthz", None).status_code == 200


def test_keys_from_the_environment_work_too(keyed):
    models = openai.OpenAI(base_url=keyed.base_url, api_key=GAMMA).models.list()
    assert models.data[0].id == "streamer"


def test_a_session_is_visible_only_to_the_key_that_created_it(keyed):
    created = call(keyed, "POST", "/v1/sessions", ALPHA, json={"id": "private"})
    assert created.status_code == 201
    reply = call(keyed, "POST", "/v1/sessions/private/messages", ALPHA,
                 json={"content": "hi"}, headers={"Idempotency-Key": "1"})  # fmt: skip
    assert reply.json()["reply"] == WELCOME
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/messages")):
        other = call(keyed, method, f"/v1/sessions/private{path}", BETA,
                     json={"content": "hi"}, headers={"Idempotency-Key": "2"})  # fmt: skip
        assert other.status_code == 404, (method, path)
    listed = call(keyed, "GET", "/v1/sessions", BETA).json()["data"]
    assert "private" not in [s["id"] for s in listed]
    assert "private" in [s["id"] for s in call(keyed, "GET", "/v1/sessions", ALPHA).json()["data"]]
    assert call(keyed, "GET", "/v1/sessions/private", ALPHA).json()["version"] == 1


def test_two_keys_using_the_same_conversation_id_never_meet(keyed):
    shared = f"chat-{uuid.uuid4().hex[:6]}"
    answers = {}
    for key in (ALPHA, BETA):
        client = openai.OpenAI(base_url=keyed.base_url, api_key=key, max_retries=0)
        first = client.chat.completions.create(
            model="streamer",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Session-Id": shared},
        )
        second = client.chat.completions.create(
            model="streamer",
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": f"fixed for {key}"},
            ],
            extra_headers={"X-Session-Id": shared},
        )
        answers[key] = (first.choices[0].message.content, second.choices[0].message.content)
    assert answers[ALPHA] == (WELCOME, f"Fixed answer to fixed for {ALPHA}.")
    assert answers[BETA] == (WELCOME, f"Fixed answer to fixed for {BETA}.")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_key(host):
    check_host(host, [], insecure=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.org"])
def test_a_public_host_needs_keys_or_insecure(host):
    with pytest.raises(CliError) as info:
        check_host(host, [], insecure=False)
    assert "--api-key" in info.value.message and "--insecure" in info.value.message
    check_host(host, ["key"], insecure=False)
    check_host(host, [], insecure=True)


def test_the_command_refuses_a_public_host_without_keys():
    done = subprocess.run(
        [sys.executable, "-m", "autograms", "serve", str(STREAMER), "--host", "0.0.0.0",
         "--test-mode"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in done.stderr


def test_an_empty_api_key_is_refused_not_taken_as_none() -> None:
    with pytest.raises(CliError, match="empty key"):
        api_keys(["k1", ""], environ={})
    assert api_keys(["k1"], environ={"AUTOGRAMS_API_KEYS": "k2, ,k3"}) == ["k1", "k2", "k3"]


def test_a_store_url_no_store_takes_is_a_usage_error_hiding_its_password() -> None:
    with pytest.raises(CliError) as info:
        check_store_url("mysql://u:s3cret@db/x")
    assert info.value.status == 2
    assert "mysql://u:***@db/x" in info.value.message and "s3cret" not in info.value.message
    check_store_url("sqlite:///sessions.db")
