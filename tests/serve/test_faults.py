"""Faults over real HTTP: a client that disconnects mid-stream, a worker killed with SIGKILL
mid-stream, PostgreSQL killed and restarted under load, two separately started services on
one PostgreSQL taking turns on one conversation. Afterwards serving.md's invariants hold over
every session (tests/stores/checks.py): every acknowledged turn is there with the reply the
client got, nothing half-applied, nothing twice, no fork."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx2
import openai
import pytest

from autograms.stores import open_store
from tests.serve.bots.streamer import WELCOME
from tests.serve.server import HTTP, ServeProcess, local_autogram, model_config, start_model
from tests.stores.checks import check_store
from tests.stores.cluster import PostgresCluster, find_bindir


#: messages each client sends while PostgreSQL is killed and restarted
MESSAGES = 8


@pytest.fixture(scope="module")
def postgres():
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL 15 is not installed (tools/system_deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def schema_url(cluster: PostgresCluster) -> str:
    schema = f"s_{uuid.uuid4().hex[:10]}"
    cluster.create_schema(schema)
    return cluster.url_for_schema(schema)


@pytest.fixture
def slow_model():
    server = start_model(token_delay=0.1)
    yield server
    server.stop()


class Client:
    """Sends native-API messages with idempotency keys, retrying with the same key until the
    service acknowledges them; records what was acknowledged."""

    def __init__(self, service: ServeProcess, session: str) -> None:
        self.service = service
        self.session = session
        self.acknowledged: dict[str, str | None] = {}
        self.sent: set[str] = set()

    def send(self, text: str, key: str | None = None, deadline: float = 90) -> dict:
        key = key or uuid.uuid4().hex
        self.sent.add(key)
        give_up = time.monotonic() + deadline
        while True:
            try:
                response = HTTP.post(
                    f"{self.service.base_url}/sessions/{self.session}/messages",
                    json={"content": text},
                    headers={"Idempotency-Key": key},
                    timeout=30,
                )
                if response.status_code == 200:
                    answer = response.json()
                    self.acknowledged[key] = answer["reply"]
                    return answer
                assert response.status_code in (409, 503), response.text
            except httpx2.TransportError:
                pass  # the service or its database is restarting
            assert time.monotonic() < give_up, f"message {key} never acknowledged"
            time.sleep(0.2)


def stream_until_first_piece(service: ServeProcess, session: str, text: str, key: str):
    """Start a native streamed message over a plain connection; returns the connection, its
    local port and the response once the first piece arrived."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    body = json.dumps({"content": text, "stream": True})
    connection.request(
        "POST", f"/v1/sessions/{session}/messages", body,
        {"Content-Type": "application/json", "Idempotency-Key": key},
    )  # fmt: skip
    port = connection.sock.getsockname()[1]
    response = connection.getresponse()
    assert response.status == 200
    while b"event: delta" not in response.fp.readline():
        pass
    return connection, port, response


def sessions_checked(config: dict, store_url: str, clients: list[Client]) -> None:
    acknowledged = {k: v for c in clients for k, v in c.acknowledged.items()}
    sent = {key for c in clients for key in c.sent}
    store = open_store(store_url)
    try:
        check_store(local_autogram(config), store, acknowledged, sent)
    finally:
        store.close()


def test_a_client_gone_mid_stream_leaves_the_turn_whole_and_its_retry_is_exact(
    tmp_path, slow_model
):
    config = model_config(slow_model)
    service = ServeProcess(tmp_path, config=config).start()
    try:
        client = Client(service, HTTP.post(f"{service.base_url}/sessions").json()["id"])
        client.send("hi")
        connection, _, _ = stream_until_first_piece(service, client.session, "go on", "k-gone")
        client.sent.add("k-gone")
        connection.close()  # the reader leaves; the turn goes on without it
        answer = client.send("go on", key="k-gone")
        assert answer["reply"].startswith("Reply ") and answer["version"] == 2
        again = client.send("go on", key="k-gone")
        assert again["replayed"] and again["reply"] == answer["reply"]
        sessions_checked(config, service.store, [client])
    finally:
        service.stop()


def socket_holder(pids: list[int], server_port: int, client_port: int) -> int:
    """The process holding the server side of the loopback connection from `client_port`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == server_port and int(remote, 16) == client_port:
            inodes.add(fields[9])
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd).removeprefix("socket:[").rstrip("]") in inodes:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def test_a_worker_killed_mid_stream_loses_nothing_and_the_retry_applies_once(tmp_path, slow_model):
    config = model_config(slow_model)
    service = ServeProcess(
        tmp_path, "--workers", "2", "--lease-seconds", "2", config=config
    ).start()
    try:
        client = Client(service, HTTP.post(f"{service.base_url}/sessions").json()["id"])
        client.send("hi")
        others = [Client(service, f"other-{n}") for n in range(3)]
        for other in others:
            HTTP.post(f"{service.base_url}/sessions", json={"id": other.session})
            other.send("hi")
        connection, port, response = stream_until_first_piece(
            service, client.session, "tell me", "k-killed"
        )
        client.sent.add("k-killed")
        os.kill(socket_holder(service.workers(), service.port, port), signal.SIGKILL)
        with pytest.raises((http.client.IncompleteRead, ConnectionError, OSError)):
            while True:
                line = response.fp.readline()
                assert b"event: done" not in line, "the killed worker finished the turn"
                if not line:
                    raise ConnectionError("closed")
        connection.close()
        answer = client.send("tell me", key="k-killed")  # the other worker, or a new one
        assert answer["version"] == 2
        for other in others:
            other.send("fixed after the crash")
        sessions_checked(config, service.store, [client, *others])
    finally:
        service.stop()


def test_postgres_killed_and_restarted_under_load_loses_no_acknowledged_turn(
    tmp_path, postgres, model
):
    config = model_config(model)
    url = schema_url(postgres)
    service = ServeProcess(
        tmp_path, "--workers", "2", "--lease-seconds", "3", config=config, store=url
    ).start()
    clients = [Client(service, f"load-{n}") for n in range(4)]
    for client in clients:
        assert HTTP.post(f"{service.base_url}/sessions", json={"id": client.session}).is_success
    failures: list[BaseException] = []

    def talk(client: Client) -> None:
        try:
            for number in range(MESSAGES):
                client.send(f"message {number}" if number % 3 else f"fixed {number}")
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=talk, args=(client,)) for client in clients]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        postgres.kill()
        down = HTTP.get(f"{service.url}/healthz", timeout=30)
        assert down.status_code == 503
        time.sleep(0.5)
        postgres.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures
        assert HTTP.get(f"{service.url}/healthz", timeout=30).status_code == 200
    finally:
        service.stop()
    sessions_checked(config, url, clients)
    assert all(len(client.acknowledged) == MESSAGES for client in clients)


def test_two_services_on_one_postgres_serve_one_conversation_in_turns(tmp_path, postgres, model):
    config = model_config(model)
    url = schema_url(postgres)
    first = ServeProcess(tmp_path / "a", config=config, store=url).start()
    second = ServeProcess(tmp_path / "b", config=config, store=url).start()
    try:
        messages = [{"role": "user", "content": "hi"}]
        for number in range(6):
            service = (first, second)[number % 2]
            client = openai.OpenAI(base_url=service.base_url, api_key="x", max_retries=0)
            answer = client.chat.completions.create(
                model="streamer",
                messages=messages,
                stream=number % 3 == 0,
                extra_headers={"X-Session-Id": "shared"},
            )
            text = (
                "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
                if number % 3 == 0
                else answer.choices[0].message.content
            )
            messages += [{"role": "assistant", "content": text}]
            messages += [{"role": "user", "content": f"message {number}"}]
        assert messages[1]["content"] == WELCOME
    finally:
        first.stop()
        second.stop()
    store = open_store(url)
    try:
        turns = check_store(local_autogram(config), store)["shared"]
    finally:
        store.close()
    assert [turn.reply for turn in turns] == [m["content"] for m in messages[1::2]]
