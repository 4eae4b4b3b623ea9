"""Outside tests (session 9) of `autograms serve` and its session stores, written from the README
and docs/ only: exactness of what a client sees, odd inputs, concurrency and faults.

Every test starts its own `autograms serve` (tests/outside/serve_s9_bots/s9bot.py, a bot whose
replies show exactly what it was sent) on a loopback port and kills it at the end. Something
wrong is an xfail(strict=True) whose reason says what is wrong and what the docs or plain
Python do.
"""

from __future__ import annotations

import json
import random
import threading

import pytest
import requests

from tests import chat_page as C
from tests.outside import serve_s9_support as S
from tests.outside.serve_s9_support import a, reply_of, streamed_text, u


@pytest.fixture
def server(tmp_path):
    with S.Server(f"sqlite:///{tmp_path / 's9.db'}") as srv:
        yield srv


def _start(srv: S.Server, sid: str) -> list[dict]:
    """A new conversation: the bot greets, the history a client then holds."""
    assert reply_of(srv.chat(sid, [u("hi")])) == "hello"
    return [u("hi"), a("hello")]


def _random_text(rng: random.Random) -> str:
    """Text that is not whitespace at either end, from many scripts and odd code points."""
    pool = (
        "abcXYZ019 .,;:!?'\"\\/<>{}[]|`~#$%^&*()_+-=\t\n"
        "éüßøñçÅ漢字かなДжשלוםمرحباहिन्दी"
        "😀👩‍👩‍👧🏳️‍🌈\u0301\u200b\u200d\u2028\u2029\ufeff\x7f\x1b\x01"
    )
    body = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
    return "<" + body + ">"


def test_generated_texts_come_back_exactly_streamed_plain_and_in_the_history(server):
    """Random unicode (emoji, ZWJ sequences, combining marks, line separators, control and NUL
    characters on SQLite): the non-streamed reply, the streamed chunks joined and the history
    endpoint all hold exactly the text the bot replied."""
    rng = random.Random(9)
    texts = [_random_text(rng) for _ in range(12)] + ["<a\x00b>", "<" + "ы" * 30000 + ">"]
    held = _start(server, "gen-plain")
    held_s = _start(server, "gen-stream")
    for text in texts:
        got = reply_of(server.chat("gen-plain", [*held, u("echo:" + text)]))
        assert got == text
        held += [u("echo:" + text), a(got)]
        code, payloads = server.stream("gen-stream", [*held_s, u("echo:" + text)])
        assert code == 200 and payloads[-1] == "[DONE]"
        assert streamed_text(payloads) == text
        held_s += [u("echo:" + text), a(text)]
    for sid, want in (("gen-plain", held), ("gen-stream", held_s)):
        view = server.session(sid)
        assert view["history"] == want
        assert view["version"] == len(texts) + 1


def test_openai_api_gives_the_bot_the_message_as_sent(server):
    held = _start(server, "ws")
    for text in ("    return x  # indented code", "echo:two trailing spaces  "):
        got = reply_of(server.chat("ws", [*held, u(text)]))
        held += [u(text), a(got)]
    users = [m["content"] for m in server.session("ws")["history"] if m["role"] == "user"]
    assert users[1:] == ["    return x  # indented code", "echo:two trailing spaces  "]
    assert held[-1]["content"] == "two trailing spaces  "


def test_native_api_gives_the_bot_the_message_as_sent(server):
    """The native API keeps surrounding whitespace, as plain Python does."""
    assert requests.post(server.base + "/v1/sessions", json={"id": "nws"}, timeout=30).ok
    assert server.send("nws", "", "k0").json()["reply"] == "hello"
    assert server.send("nws", "echo:  x  \n", "k1").json()["reply"] == "  x  \n"
    assert server.session("nws")["history"][-2:] == [u("echo:  x  \n"), a("  x  \n")]


def test_dot_session_ids_are_refused_or_reachable(server):
    for sid in (".", ".."):
        resp = server.chat(sid, [u("hi")])
        if resp.status_code == 400:
            continue
        got = requests.get(f"{server.base}/v1/sessions/{sid}", timeout=30)
        assert got.status_code == 200 and got.json().get("id") == sid, got.text[:200]


def test_odd_session_ids_are_refused_clearly_and_change_nothing(server):
    ok = ["a" * 200, "x:y@z+w=v~u-t_s.r", "...", "A.b"]
    bad = ["a" * 201, "ключ", "a/b", "../etc", "a b", "a%2fb", "a\\b", "😀", "a?b", "a#b"]
    for sid in ok:
        resp = server.chat(sid, [u("hi")])
        assert reply_of(resp) == "hello"
        assert resp.headers["x-session-id"] == sid
        assert server.session(sid)["history"] == [u("hi"), a("hello")]
    for sid in bad:
        raw = sid.encode("utf-8").decode("latin-1")  # how a header carries non-ASCII
        resp = requests.post(
            server.base + "/v1/chat/completions",
            json={"messages": [u("hi")]},
            headers={"X-Session-Id": raw},
            timeout=30,
        )
        assert resp.status_code == 400, (sid, resp.text)
        assert resp.json()["error"]["code"] == "invalid_session_id"
        body = requests.post(
            server.base + "/v1/chat/completions",
            json={"messages": [u("hi")], "user": sid},
            timeout=30,
        )
        assert body.status_code == 400, (sid, body.text)
        created = requests.post(server.base + "/v1/sessions", json={"id": sid}, timeout=30)
        assert created.status_code == 400, (sid, created.text)
    listed = requests.get(server.base + "/v1/sessions", timeout=30).json()["data"]
    assert sorted(s["id"] for s in listed) == sorted(ok)


BAD_BODIES = [
    (b'{"messages":[{"role":"user","content":"hi"}', "invalid_json"),
    ('{"messages":[{"role":"user","content":"\xe9"}]}'.encode("latin-1"), "invalid_json"),
    (b"[]", None),
    (b'{"messages":"hi"}', "invalid_messages"),
    (b'{"messages":[]}', "invalid_messages"),
    (b'{"messages":[{"role":"user","content":5}]}', None),
    (b'{"messages":[{"role":"robot","content":"hi"}]}', None),
    (b'{"messages":[{"role":"user","content":"hi"}],"stream":"false"}', "invalid_field"),
    (b'{"messages":[{"role":"user","content":"\\ud800"}]}', None),
    (
        b'{"messages":[{"role":"user","content":[{"type":"image_url",'
        b'"image_url":{"url":"data:image/png;base64,AAAA"}}]}]}',
        "invalid_messages",
    ),
]


def test_bad_bodies_are_400s_naming_the_fault_and_change_nothing(server):
    held = _start(server, "bad")
    for body, code in BAD_BODIES:
        resp = requests.post(
            server.base + "/v1/chat/completions",
            data=body,
            headers={"content-type": "application/json", "X-Session-Id": "bad"},
            timeout=30,
        )
        assert resp.status_code == 400, (body, resp.text)
        err = resp.json()["error"]
        assert err["message"] and "Traceback" not in err["message"]
        if code:
            assert err["code"] == code, (body, err)
    view = server.session("bad")
    assert view["version"] == 1 and view["history"] == held
    assert reply_of(server.chat("bad", [*held, u("after")])) == "1|after"


def test_huge_bodies_are_413_whether_sized_or_chunked_and_change_nothing(server):
    held = _start(server, "big")
    body = json.dumps({"messages": [*held, u("echo:" + "y" * 1_200_000)]}).encode()

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    headers = {"content-type": "application/json", "X-Session-Id": "big"}
    for data in (body, chunks()):
        resp = requests.post(
            server.base + "/v1/chat/completions", data=data, headers=headers, timeout=60
        )
        assert resp.status_code == 413, resp.text[:200]
        assert resp.json()["error"]["code"] == "body_too_large"
    native = server.send("big", "z" * 1_200_000, "k-big")
    assert native.status_code == 413
    view = server.session("big")
    assert view["version"] == 1 and view["history"] == held


def test_double_submitted_request_is_one_turn_and_racing_messages_never_fork(server):
    """Six copies of one request at once: one turn, six equal replies. Six different messages
    on one history at once: exactly one is applied, the others are 409, nothing forks."""
    held = _start(server, "dbl")
    results: list = []

    def go(sid: str, text: str, hist: list) -> None:
        resp = server.chat(sid, [*hist, u(text)])
        results.append((text, resp.status_code, resp.json()))

    threads = [threading.Thread(target=go, args=("dbl", "same", held)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [code for _, code, _ in results] == [200] * 6, results
    assert {body["choices"][0]["message"]["content"] for _, _, body in results} == {"1|same"}
    assert server.session("dbl")["version"] == 2

    held2 = _start(server, "race")
    results.clear()
    threads = [threading.Thread(target=go, args=("race", f"m{i}", held2)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    won = [text for text, code, _ in results if code == 200]
    assert len(won) == 1, results
    assert sorted(code for _, code, _ in results) == [200] + [409] * 5
    assert {b["error"]["code"] for _, c, b in results if c == 409} <= {
        "history_mismatch",
        "session_busy",
        "turn_in_progress",
    }
    view = server.session("race")
    assert view["version"] == 2
    assert view["history"] == [*held2, u(won[0]), a("1|" + won[0])]


# -- the real openai SDK on SQLite and PostgreSQL, several workers ---------------------------


@pytest.fixture(scope="module")
def cluster():
    if not S.have_postgres():
        pytest.skip("PostgreSQL 15 (Debian package) is not installed")
    with S.Cluster() as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sdk.db'}"
    return request.getfixturevalue("cluster").new_db()


TOKENS = [" Hel", "lo", ",", " wörld", " 😀", "!", " ok"]


def _sdk_turn(client, base: str, how: str, messages: list, sid: str, usage: bool):
    """One turn with the openai SDK: (text, usage or None)."""
    import asyncio

    from openai import AsyncOpenAI

    head = {"X-Session-Id": sid}
    opts = {"stream_options": {"include_usage": True}} if usage else {}
    if how == "sync":
        done = client.chat.completions.create(model="m", messages=messages, extra_headers=head)
        return done.choices[0].message.content, done.usage
    if how == "sync-stream":
        chunks = list(
            client.chat.completions.create(
                model="m", messages=messages, stream=True, extra_headers=head, **opts
            )
        )
        assert len({c.id for c in chunks}) == 1
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        return text, chunks[-1].usage

    async def go():
        async with AsyncOpenAI(base_url=base, api_key="unused", max_retries=0) as aclient:
            return await turn(aclient)

    async def turn(aclient):
        if how == "async":
            done = await aclient.chat.completions.create(
                model="m", messages=messages, extra_headers=head
            )
            return done.choices[0].message.content, done.usage
        stream = await aclient.chat.completions.create(
            model="m", messages=messages, stream=True, extra_headers=head, **opts
        )
        parts, last = [], None
        async for chunk in stream:
            last = chunk
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
        return "".join(parts), last.usage

    return asyncio.run(go())


def test_openai_sdk_every_way_on_several_workers_is_exact(store_url):
    """sync / async x streamed / not, through 3 workers on SQLite or PostgreSQL, a model that
    streams tokens: each turn's text (streamed chunks joined) equals what a non-streamed replay
    of the same request returns and what the history shows; usage adds up per turn and in the
    session's totals (two model calls in a 'two' turn)."""
    from openai import OpenAI

    with S.FakeModel(TOKENS, delay=0.005, prompt_tokens=13, completion_tokens=4) as fm:
        args = [*S.model_args(fm), "--workers", "3"]
        env = {"OPENAI_API_KEY": "unused"}
        with S.Server(store_url, *args, test_mode=False, env=env) as srv:
            client = OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0)
            held = [u("hi")]
            text, _ = _sdk_turn(client, srv.base + "/v1", "sync", held, "sdk", False)
            assert text == "hello"
            held.append(a(text))
            ways = ["sync", "sync-stream", "async", "async-stream"] * 2
            calls = 0
            for i, how in enumerate(ways):
                msg = ("two " if i % 3 == 0 else "instr ") + f"{i} {how}"
                turn_calls = 2 if msg.startswith("two") else 1
                text, usage = _sdk_turn(client, srv.base + "/v1", how, [*held, u(msg)], "sdk", True)
                assert text == "Hello, wörld 😀! ok", (how, text)
                assert usage.prompt_tokens == 13 * turn_calls, (how, usage)
                assert usage.completion_tokens == 4 * turn_calls, (how, usage)
                assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
                again = client.chat.completions.create(
                    model="m", messages=[*held, u(msg)], extra_headers={"X-Session-Id": "sdk"}
                )
                assert again.choices[0].message.content == text
                held += [u(msg), a(text)]
                calls += turn_calls
            view = srv.session("sdk")
            assert view["history"] == held
            assert view["version"] == len(ways) + 1
            assert view["usage"] == {
                "calls": calls,
                "prompt_tokens": 13 * calls,
                "completion_tokens": 4 * calls,
            }
            assert fm.calls == calls


def test_random_model_token_streams_match_the_reply_in_plain_python(tmp_path, monkeypatch):
    """The model streams random token lists (whitespace-only tokens, CRLF, NBSP, zero-width
    and ideographic spaces, emoji, empty tokens): the streamed chunks joined, the non-streamed
    reply, the stored history and Autogram.reply in plain Python on the same model agree."""
    import sys

    from autograms import Autogram, AutogramConfig

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    monkeypatch.syspath_prepend(str(S.BOT_DIR))
    sys.modules.pop("s9bot", None)
    import s9bot

    pieces = ["a", "Hello", " ", "  ", "\n", "\r\n", "\t", " wörld", "😀", "\u200b", "x ", " y"]
    pieces += ["\u00a0", "\u3000", ""]
    rng = random.Random(14)
    with S.FakeModel(["x"]) as fm:
        cfg = AutogramConfig(chatbot_type="proxy", base_url=fm.base_url, chatbot_path="fake")
        env = {"OPENAI_API_KEY": "unused"}
        with S.Server(
            f"sqlite:///{tmp_path / 'tok.db'}", *S.model_args(fm), test_mode=False, env=env
        ) as srv:
            for case in range(15):
                fm.tokens = [rng.choice(pieces) for _ in range(rng.randint(1, 8))]
                plain_python = Autogram(root_function=s9bot.chatbot, autogram_config=cfg)
                _, memory = plain_python.reply("hi")
                want, _ = plain_python.reply("instr q", memory_object=memory)
                held = _start(srv, f"p{case}")
                held_s = _start(srv, f"s{case}")
                plain = reply_of(srv.chat(f"p{case}", [*held, u("instr q")]))
                code, payloads = srv.stream(f"s{case}", [*held_s, u("instr q")])
                assert code == 200 and payloads[-1] == "[DONE]"
                stored = srv.session(f"s{case}")["history"][-1]["content"]
                assert (plain, streamed_text(payloads), stored) == (want, want, want), fm.tokens


def test_native_retry_with_the_same_key_and_stale_version_replays(server):
    """A client that retries a message (same key, same body with the version it showed) after
    its first attempt committed gets the stored reply, not 409 conversation_changed; the same
    key with other text is 422; a streamed retry replays too."""
    assert requests.post(server.base + "/v1/sessions", json={"id": "nv"}, timeout=30).ok
    assert server.send("nv", "", "k0").json()["version"] == 1
    first = server.send("nv", "a", "k1", version=1).json()
    assert (first["reply"], first["version"], first["replayed"]) == ("1|a", 2, False)
    again = server.send("nv", "a", "k1", version=1)
    assert again.status_code == 200, again.text
    assert (again.json()["reply"], again.json()["replayed"]) == ("1|a", True)
    other = server.send("nv", "b", "k1", version=1)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    stale = server.send("nv", "c", "k2", version=1)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conversation_changed"
    streamed = server.send("nv", "a", "k1", stream=True)
    assert "event: done" in streamed.text and '"replayed": true' in streamed.text
    view = server.session("nv")
    assert view["version"] == 2 and view["history"][-2:] == [u("a"), a("1|a")]


HOSTS_REFUSED = ["0.0.0.0", "::", "0", "", "[::]", "0x0", "::ffff:0.0.0.0", "10.1.2.3", "*"]


def test_a_public_host_without_keys_is_refused_before_binding(tmp_path):
    """Run in a private network namespace (only its own loopback): every spelling of a public
    address is refused with status 2 and a message naming --insecure; loopback names start."""
    import subprocess

    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("unshare -rn (a private network namespace) is not available")
    script = tmp_path / "hosts.sh"
    lines = ["ip link set lo up 2>/dev/null"]
    cmd = f"{S.AUTOGRAMS} serve {S.BOT} --test-mode --store sqlite:///{tmp_path / 'h.db'}"
    for i, host in enumerate(HOSTS_REFUSED):
        lines.append(f'timeout 20 {cmd} --port 18{i:03d} --host "{host}" >/dev/null 2>{i}.err')
        lines.append(f"echo $? > {i}.rc")
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["unshare", "-rn", "bash", str(script)], cwd=tmp_path, timeout=300)
    for i, host in enumerate(HOSTS_REFUSED):
        assert (tmp_path / f"{i}.rc").read_text().strip() == "2", host
        assert "--insecure" in (tmp_path / f"{i}.err").read_text(), host


# -- the chat page in headless Chromium -----------------------------------------------------


def _browser():
    if not S.CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    return sync_playwright


def _log(page) -> list[str]:
    return C.shown(page).texts


def _wait_for_the_message_box(page) -> None:
    C.focus_message_box(page)


def _wait(page, pred, timeout: float = C.TIMEOUT) -> bool:
    """Until pred() holds; fails showing the page when it does not within `timeout` seconds,
    or when the page shows an error and waits (a test expecting one waits for it first)."""
    C.wait_for(page, pred, f"the condition of line {pred.__code__.co_firstlineno}", timeout=timeout)
    return True


def test_chat_page_keyboard_only_multiline_text_not_html_and_bot_errors(tmp_path):
    """Keyboard only: the message box has focus, Enter sends, Shift+Enter is a new line; a
    reply holding HTML shows as text (no script runs); a bot that raises shows an error with
    its id (also in the server log) and no traceback; Tab back to the box and continue."""
    sync_playwright = _browser()
    with S.Server(f"sqlite:///{tmp_path / 'page.db'}") as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(srv.base + "/")
            _wait_for_the_message_box(page)
            page.keyboard.type("hi")
            page.keyboard.press("Enter")
            assert _wait(page, lambda: _log(page) == ["hi", "hello"]), _log(page)
            html = 'echo:<img src=x onerror="window.__s9=1">'
            page.keyboard.type(html)
            page.keyboard.press("Shift+Enter")
            page.keyboard.type("  line two")
            page.keyboard.press("Enter")
            want = ["hi", "hello", html + "\n  line two", html[5:] + "\n  line two"]
            assert _wait(page, lambda: _log(page) == want), _log(page)
            assert page.evaluate("window.__s9") is None
            page.keyboard.type("raise now")
            page.keyboard.press("Enter")
            assert _wait(page, lambda: page.is_visible("#error"))
            shown = page.inner_text("#error-text")
            assert "Traceback" not in shown and "RuntimeError" not in shown, shown
            import re

            error_id = re.search(r"error id (\w+)", shown)
            assert error_id and error_id.group(1) in srv.output(), shown
            assert _log(page) == want
            page.screenshot(path=str(tmp_path / "error.png"))
            for _ in range(6):  # back to the message box with the keyboard
                if page.evaluate("document.activeElement.id") == "message":
                    break
                page.keyboard.press("Shift+Tab")
            assert page.evaluate("document.activeElement.id") == "message"
            page.keyboard.press("Control+A")
            page.keyboard.type("after")
            page.keyboard.press("Enter")
            assert _wait(page, lambda: _log(page)[-1:] == ["2|after"]), _log(page)
            sid = page.evaluate("localStorage.getItem('autograms.session@/')")
            stored = [m["content"] for m in srv.session(sid)["history"]]
            assert stored == _log(page)
        finally:
            browser.close()


def test_chat_page_reload_while_a_reply_streams_then_continue(tmp_path):
    """Reload the page while the model is still streaming: after the reload the page shows the
    whole committed reply (never a half), and the conversation continues; page == history."""
    sync_playwright = _browser()
    tokens = [f" t{i}" for i in range(12)]
    with S.FakeModel(tokens, delay=0.25) as fm, sync_playwright() as pw:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'reload.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(srv.base + "/")
                _wait_for_the_message_box(page)
                page.keyboard.type("hi")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: _log(page) == ["hi", "hello"])
                page.keyboard.type("instr go")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: len(_log(page)) == 4 and _log(page)[3].strip())
                assert len(_log(page)[3]) < len("t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11")
                page.reload()
                whole = "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11"
                assert _wait(page, lambda: _log(page) == ["hi", "hello", "instr go", whole])
                assert _wait(page, lambda: not page.is_disabled("#send"))
                page.focus("#message")
                page.keyboard.type("next")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: _log(page)[-1:] == ["2|next"]), _log(page)
                sid = page.evaluate("localStorage.getItem('autograms.session@/')")
                assert [m["content"] for m in srv.session(sid)["history"]] == _log(page)
                assert not page.is_visible("#error")
            finally:
                browser.close()


def test_a_bot_that_ends_gives_an_empty_reply_and_starts_again(server):
    """The root function returns ('bye'): plain Python gives None and the next message starts
    the program again; the service answers '' (streamed too), hides it in the history, and the
    conversation continues from the top, as in plain Python."""
    held = _start(server, "end")
    assert reply_of(server.chat("end", [*held, u("bye")])) == ""
    code, payloads = server.stream("end", [*held, u("bye")])
    assert code == 200 and streamed_text(payloads) == "" and payloads[-1] == "[DONE]"
    assert reply_of(server.chat("end", [*held, u("bye"), a(""), u("again")])) == "hello"
    assert reply_of(server.chat("end", [*held, u("bye"), u("again"), a("hello"), u("x")])) == "1|x"
    view = server.session("end")
    assert view["version"] == 4
    assert view["history"] == [*held, u("bye"), u("again"), a("hello"), u("x"), a("1|x")]


def _gate_files(gate, timeout: float = 60) -> list:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(gate.parent.glob(gate.name + ".*.in"))
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the bot never reached its gate")


def test_session_deleted_and_recreated_while_its_turn_runs_gets_nothing_of_it(tmp_path):
    """DELETE a session while its turn is held inside the program, start a new conversation
    under the same id: the held turn is refused (404 or 409) and never lands in the new one."""
    gate = tmp_path / "gate"
    url = f"sqlite:///{tmp_path / 'del.db'}"
    with S.Server(url, env={"S9_GATE": str(gate)}) as srv:
        held = _start(srv, "del")
        out: list = []
        thread = threading.Thread(target=lambda: out.append(srv.chat("del", [*held, u("gate")])))
        thread.start()
        try:
            _gate_files(gate)
            assert requests.delete(srv.base + "/v1/sessions/del", timeout=30).status_code == 204
            fresh = _start(srv, "del")
            assert reply_of(srv.chat("del", [*fresh, u("new")])) == "1|new"
        finally:
            (tmp_path / "gate.go").touch()
            thread.join(timeout=90)
        assert out and out[0].status_code in (404, 409), out[0].text
        view = srv.session("del")
        assert view["version"] == 2
        assert view["history"] == [*fresh, u("new"), a("1|new")]


def test_worker_killed_mid_stream_on_postgresql_then_the_sdk_retry_is_one_turn(cluster, tmp_path):
    """Two workers on PostgreSQL; the streaming worker is SIGKILLed while its turn is held in
    the program; the client sends the same request again (waiting out 409s for at most a few
    leases): exactly one turn, its reply what the history shows, later turns fine."""
    import os
    import signal
    import time

    from openai import APIConnectionError, APIStatusError, OpenAI

    gate = tmp_path / "gate"
    url = cluster.new_db()
    args = ("--workers", "2", "--lease-seconds", "2")
    with S.Server(url, *args, env={"S9_GATE": str(gate)}) as srv:
        client = OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0)
        head = {"X-Session-Id": "k9"}
        held = _start(srv, "k9")
        request = [*held, u("gate me")]
        got: list = []

        def stream_it() -> None:
            try:
                stream = client.chat.completions.create(
                    model="m", messages=request, stream=True, extra_headers=head
                )
                got.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
            except (APIConnectionError, APIStatusError, Exception) as exc:  # noqa: BLE001
                got.append(exc)

        thread = threading.Thread(target=stream_it)
        thread.start()
        gated = _gate_files(gate)
        pid = int(gated[0].name.split(".")[1])
        assert pid in srv.worker_pids()
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=60)
        assert got and not (isinstance(got[0], str) and got[0]), got
        (tmp_path / "gate.go").touch()
        reply, deadline = None, time.monotonic() + 40
        while reply is None and time.monotonic() < deadline:
            try:
                done = client.chat.completions.create(
                    model="m", messages=request, extra_headers=head
                )
                reply = done.choices[0].message.content
            except APIStatusError as exc:
                assert exc.status_code in (409, 503), exc
                time.sleep(0.3)
            except APIConnectionError:
                time.sleep(0.3)
        assert reply == "1|gate me"
        after = client.chat.completions.create(
            model="m", messages=[*request, a(reply), u("next")], extra_headers=head
        )
        assert after.choices[0].message.content == "2|next"
        view = srv.session("k9")
        assert view["version"] == 3
        assert view["history"] == [*request, a(reply), u("next"), a("2|next")]


def test_client_gone_mid_stream_the_turn_commits_whole_and_the_next_message_is_right(tmp_path):
    """The client closes the connection after the first tokens of a slow model stream: the
    turn commits whole (or not at all); the same request then returns exactly the whole reply,
    and the next message continues from it."""
    import time

    tokens = [f" w{i}" for i in range(10)]
    with S.FakeModel(tokens, delay=0.2) as fm:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'cut.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            held = _start(srv, "cut")
            request = [*held, u("instr x")]
            with requests.post(
                srv.base + "/v1/chat/completions",
                json={"messages": request, "stream": True},
                headers={"X-Session-Id": "cut"},
                stream=True,
                timeout=60,
            ) as resp:
                for line in resp.iter_lines(decode_unicode=True):
                    if '"content"' in line:
                        break
            whole = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"
            deadline = time.monotonic() + 30
            while srv.session("cut")["version"] == 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            view = srv.session("cut")
            assert view["history"] in ([*held], [*request, a(whole)]), view["history"]
            assert reply_of(srv.chat("cut", request)) == whole
            assert reply_of(srv.chat("cut", [*request, a(whole), u("then")])) == "2|then"
            assert srv.session("cut")["version"] == 3
            assert fm.calls == 1


def test_near_colliding_session_ids_stay_apart_on_both_stores(store_url):
    """Ids a number-typed or case-folding column would merge ('1', '01', '1.0', '1e0', '+1',
    'Abc', 'abc', ...) are separate conversations on SQLite and PostgreSQL."""
    ids = ["1", "01", "1.0", "1e0", "+1", "1.", "0", "-0", "Abc", "abc", "ABC", "a-b", "a_b"]
    with S.Server(store_url) as srv:
        for i, sid in enumerate(ids):
            held = _start(srv, sid)
            assert reply_of(srv.chat(sid, [*held, u(f"msg{i}")])) == f"1|msg{i}"
        listed = requests.get(srv.base + "/v1/sessions", timeout=30).json()["data"]
        assert sorted(s["id"] for s in listed) == sorted(ids)
        for i, sid in enumerate(ids):
            assert srv.session(sid)["history"][-2:] == [u(f"msg{i}"), a(f"1|msg{i}")]


@pytest.mark.parametrize("policy", ["enqueue", "reject"])
def test_native_messages_racing_on_three_postgresql_workers(cluster, policy):
    """24 native messages (8 keys, each sent 3 times) at once on one session through 3 workers
    on PostgreSQL: every reply names its place in the history ('n|text'), each key's message is
    applied at most once (exactly once under enqueue), a refusal is 409 with a code, no 5xx."""
    import time

    url = cluster.new_db()
    with S.Server(url, "--workers", "3", "--policy", policy) as srv:
        assert requests.post(srv.base + "/v1/sessions", json={"id": "q"}, timeout=30).ok
        assert srv.send("q", "", "k0").json()["reply"] == "hello"
        results: list = []

        def send(i: int) -> None:
            resp = srv.send("q", f"m{i % 8}", f"key{i % 8}")
            results.append((i % 8, resp.status_code, resp.json(), resp.headers))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(results) == 24
        codes = sorted({code for _, code, _, _ in results})
        assert set(codes) <= {200, 409}, results
        view = srv.session("q")
        users = [m["content"] for m in view["history"] if m["role"] == "user"]
        assert len(users) == len(set(users)) == view["version"] - 1
        for k, code, body, headers in results:
            if code == 200:
                n = users.index(f"m{k}") + 1
                assert body["reply"] == f"{n}|m{k}", (k, body)
            else:
                assert body["error"]["code"] in ("session_busy", "turn_in_progress"), body
                assert headers.get("retry-after"), body
        if policy == "enqueue":
            assert sorted(users) == sorted(f"m{k}" for k in range(8))
        # every key retried afterwards: the stored reply, or (never applied) a new turn
        deadline = time.monotonic() + 60
        for k in range(8):
            while True:
                resp = srv.send("q", f"m{k}", f"key{k}")
                if resp.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert resp.status_code == 200, resp.text
        view = srv.session("q")
        users = [m["content"] for m in view["history"] if m["role"] == "user"]
        assert sorted(users) == sorted(f"m{k}" for k in range(8))
        assert view["version"] == 9


def test_postgresql_refuses_a_nul_in_the_message_clearly_and_keeps_the_session(cluster):
    with S.Server(cluster.new_db()) as srv:
        held = _start(srv, "nul")
        resp = srv.chat("nul", [*held, u("echo:a\x00b")])
        assert resp.status_code == 400
        assert "NUL" in resp.json()["error"]["message"]
        view = srv.session("nul")
        assert view["version"] == 1 and view["history"] == held
        assert reply_of(srv.chat("nul", [*held, u("x")])) == "1|x"


def test_a_model_reply_the_store_cannot_keep_is_a_server_error_not_a_400(tmp_path):
    with S.FakeModel(["a", "\ud800", "b"]) as fm:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'sur.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            held = _start(srv, "sur")
            resp = srv.chat("sur", [*held, u("instr")])
            assert srv.session("sur")["version"] == 1
            assert resp.status_code >= 500, resp.text


def test_chat_page_big_unicode_reply_and_enter_while_streaming_keeps_the_text(tmp_path):
    """An 80 000-character emoji reply arrives in many network pieces: shown exactly (no U+FFFD
    from a character cut between pieces). Enter pressed while a reply streams neither sends
    nor loses the typed text."""
    sync_playwright = _browser()
    tokens = [f" t{i}" for i in range(10)]
    with S.FakeModel(tokens, delay=0.2) as fm, sync_playwright() as pw:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'big.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(srv.base + "/")
                _wait_for_the_message_box(page)
                page.keyboard.type("hi")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: _log(page) == ["hi", "hello"])
                big = "😀é" * 40000
                page.fill("#message", "echo:" + big)
                page.keyboard.press("Enter")
                assert _wait(page, lambda: len(_log(page)) == 4 and not page.is_disabled("#send"))
                assert _log(page)[3] == big
                page.keyboard.type("instr slow")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: len(_log(page)) == 6 and _log(page)[5].strip())
                page.keyboard.type("second")
                page.keyboard.press("Enter")
                whole = "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9"
                assert _wait(page, lambda: _log(page)[-1:] == [whole])
                # The last piece shows before the stream's end, which comes once the turn is
                # stored: the store is read when the page has seen that end (send enabled).
                assert _wait(page, lambda: not page.is_disabled("#send"))
                assert len(_log(page)) == 6
                assert page.input_value("#message") == "second"
                sid = page.evaluate("localStorage.getItem('autograms.session@/')")
                assert [m["content"] for m in srv.session(sid)["history"]] == _log(page)
            finally:
                browser.close()


def test_chat_page_with_api_keys_first_keystrokes_reach_a_field(tmp_path):
    sync_playwright = _browser()
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    with S.Server(url, "--api-key", "KA") as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(srv.base + "/")
            assert _wait(page, lambda: page.is_visible("#key-form"))
            page.keyboard.type("KA")
            focused = page.evaluate("document.activeElement.id")
            typed = page.input_value("#key") + page.input_value("#message")
            assert focused in ("key", "message") and typed == "KA", focused
        finally:
            browser.close()


def _send_later(out: dict, name: str, srv: S.Server, text: str, key: str) -> threading.Thread:
    thread = threading.Thread(target=lambda: out.__setitem__(name, srv.send("L", text, key)))
    thread.start()
    return thread


def test_a_turn_longer_than_its_lease_keeps_the_next_message_behind_it(cluster, tmp_path):
    """--lease-seconds 1, a turn held 3.5 s in its program on one of 2 workers, a second
    native message meanwhile: applied after the first, in arrival order (SQLite, PostgreSQL)."""
    import time

    for url in (f"sqlite:///{tmp_path / 'lease.db'}", cluster.new_db()):
        gate = tmp_path / f"gate{len(url)}"
        env = {"S9_GATE": str(gate)}
        with S.Server(url, "--lease-seconds", "1", "--workers", "2", env=env) as srv:
            assert requests.post(srv.base + "/v1/sessions", json={"id": "L"}, timeout=30).ok
            assert srv.send("L", "", "k0").json()["reply"] == "hello"
            out: dict = {}
            threads = [_send_later(out, "first", srv, "gate first", "k1")]
            try:
                _gate_files(gate)
                threads.append(_send_later(out, "second", srv, "second", "k2"))
                time.sleep(3.5)
            finally:
                (gate.parent / (gate.name + ".go")).touch()
            for thread in threads:
                thread.join(timeout=60)
            assert out["first"].json()["reply"] == "1|gate first"
            assert out["second"].json()["reply"] == "2|second"
            history = [m["content"] for m in srv.session("L")["history"]]
            assert history == ["hello", "gate first", "1|gate first", "second", "2|second"]


def test_random_conversations_send_the_model_what_plain_python_sends(tmp_path, monkeypatch):
    """Random conversations (model replies, thoughts, suffixes, fixed replies, echoes), each
    turn streamed or not through 2 workers (each turn restored from the store): every request
    the model receives, and every reply, equal those of the same conversation in plain Python."""
    import sys

    from autograms import Autogram, AutogramConfig

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    monkeypatch.syspath_prepend(str(S.BOT_DIR))
    sys.modules.pop("s9bot", None)
    import s9bot

    rng = random.Random(23)
    kinds = ["instr a", "two b", "plain c", "suffix d", "echo:e f", "instr ü😀", "bye"]
    with S.FakeModel(["Fine", " answer", "."]) as fm:
        cfg = AutogramConfig(chatbot_type="proxy", base_url=fm.base_url, chatbot_path="fake")
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'prompts.db'}"
        with S.Server(url, *S.model_args(fm), "--workers", "2", test_mode=False, env=env) as srv:
            for conv in range(3):
                texts = ["hi"] + [rng.choice(kinds) + f" {i}" for i in range(6)]
                texts = [t.replace("bye " + t.split()[-1], "bye") for t in texts]
                fm.bodies.clear()
                plain = Autogram(root_function=s9bot.chatbot, autogram_config=cfg)
                memory, want = None, []
                for text in texts:
                    out, memory = plain.reply(text, memory_object=memory)
                    want.append(out or "")
                want_bodies = list(fm.bodies)
                fm.bodies.clear()
                held, got = [], []
                for text in texts:
                    if rng.random() < 0.5:
                        code, payloads = srv.stream(f"c{conv}", [*held, u(text)])
                        assert code == 200 and payloads[-1] == "[DONE]", payloads[-1:]
                        out = streamed_text(payloads)
                    else:
                        out = reply_of(srv.chat(f"c{conv}", [*held, u(text)]))
                    got.append(out)
                    held += [u(text), a(out)]
                assert got == want, texts
                assert [_prompt(b) for b in fm.bodies] == [_prompt(b) for b in want_bodies]


def _prompt(body: dict) -> dict:
    """A model request without how it is delivered (streamed or not)."""
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


def test_listing_sessions_says_when_it_is_not_all_of_them(server):
    with requests.Session() as http:
        for i in range(130):
            resp = http.post(server.base + "/v1/sessions", json={"id": f"s{i:04d}"}, timeout=30)
            assert resp.status_code == 201
        body = http.get(server.base + "/v1/sessions", timeout=30).json()
    assert len(body["data"]) == 130 or body.get("has_more") is True, (
        len(body["data"]),
        body.keys(),
    )


@pytest.mark.parametrize("extra", [(), ("--workers", "2"), ("--policy", "reject")])
def test_the_same_request_sent_while_its_reply_streams_runs_the_model_once(tmp_path, extra):
    """A client re-sends its request (impatient retry) while the first is still streaming: the
    second gets the same whole reply (after waiting) or a 409 to retry; the model ran once."""
    import time

    with S.FakeModel([f" w{i}" for i in range(10)], delay=0.2) as fm:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'twice.db'}"
        with S.Server(url, *S.model_args(fm), *extra, test_mode=False, env=env) as srv:
            held = _start(srv, "d")
            out: dict = {}
            first = threading.Thread(
                target=lambda: out.__setitem__("a", srv.stream("d", [*held, u("instr q")]))
            )
            first.start()
            time.sleep(0.6)
            second = srv.chat("d", [*held, u("instr q")])
            first.join(timeout=60)
            whole = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"
            assert out["a"][0] == 200 and streamed_text(out["a"][1]) == whole
            if second.status_code == 409:
                assert second.headers.get("retry-after"), second.text
                second = srv.chat("d", [*held, u("instr q")])
            assert reply_of(second) == whole
            assert fm.calls == 1
            assert srv.session("d")["history"] == [*held, u("instr q"), a(whole)]


def test_exported_session_continues_in_plain_python_and_imported_on_postgresql(
    cluster, tmp_path, monkeypatch
):
    """A conversation served on SQLite, exported to a session file: Autogram.load continues it
    in plain Python with the same reply and model request as the service's next turn; imported
    into a PostgreSQL store, a service there continues it the same way."""
    import sys

    from autograms import Autogram, AutogramConfig
    from autograms.stores import Sessions, open_store

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    monkeypatch.syspath_prepend(str(S.BOT_DIR))
    sys.modules.pop("s9bot", None)
    import s9bot

    with S.FakeModel(["Fine", " ✓"]) as fm:
        cfg = AutogramConfig(chatbot_type="proxy", base_url=fm.base_url, chatbot_path="fake")
        autogram = Autogram(root_function=s9bot.chatbot, autogram_config=cfg)
        env = {"OPENAI_API_KEY": "unused"}
        sqlite_url = f"sqlite:///{tmp_path / 'exp.db'}"
        held = [u("hi")]
        with S.Server(sqlite_url, *S.model_args(fm), test_mode=False, env=env) as srv:
            held.append(a(reply_of(srv.chat("x", held))))
            for text in ("two a", "echo:é ü", "plain"):
                held += [u(text), a(reply_of(srv.chat("x", [*held, u(text)])))]
        path = tmp_path / "x.session"
        Sessions(autogram, open_store(sqlite_url)).export_file("x", path)
        fm.bodies.clear()
        memory = autogram.load(path)
        want, _ = autogram.reply("instr next", memory_object=memory)
        want_body = _prompt(fm.bodies[-1])
        pg_url = cluster.new_db()
        Sessions(autogram, open_store(pg_url)).import_file(path, "x")
        with S.Server(pg_url, *S.model_args(fm), test_mode=False, env=env) as srv:
            assert srv.session("x")["history"] == held
            fm.bodies.clear()
            assert reply_of(srv.chat("x", [*held, u("instr next")])) == want == "Fine ✓"
            assert _prompt(fm.bodies[-1]) == want_body


def test_postmaster_killed_while_a_streamed_turn_runs_then_restarted(tmp_path):
    """PostgreSQL is SIGKILLed (postmaster and backends) while a streamed turn is held in its
    program, and restarted before the program ends: the stream ends with [DONE] only if the
    turn is stored; the same request then gives that one turn, and the next message follows."""
    if not S.have_postgres():
        pytest.skip("PostgreSQL 15 (Debian package) is not installed")
    gate = tmp_path / "gate"
    with S.Cluster() as pg:
        with S.Server(pg.new_db(), env={"S9_GATE": str(gate)}) as srv:
            held = _start(srv, "p")
            request = [*held, u("gate x")]
            out: dict = {}

            def go() -> None:
                try:
                    out["s"] = srv.stream("p", request)
                except requests.RequestException as exc:
                    out["s"] = (None, [repr(exc)])

            thread = threading.Thread(target=go)
            thread.start()
            try:
                _gate_files(gate)
                pg.kill9()
                pg.start()
            finally:
                (tmp_path / "gate.go").touch()
                thread.join(timeout=90)
            code, payloads = out["s"]
            stored = srv.session("p")["history"]
            if payloads[-1:] == ["[DONE]"]:
                assert code == 200 and streamed_text(payloads) == "1|gate x"
                assert stored == [*request, a("1|gate x")]
            else:
                assert stored in (held, [*request, a("1|gate x")]), stored
            assert reply_of(srv.chat("p", request)) == "1|gate x"
            assert reply_of(srv.chat("p", [*request, a("1|gate x"), u("y")])) == "2|y"
            assert srv.session("p")["version"] == 3


def test_readme_two_command_start_streams_what_the_history_keeps(tmp_path, monkeypatch):
    """README 'Serving a bot': `autograms serve recruiter` (here --test-mode) and its openai
    snippet as written; the streamed text is the stored reply, the conversation matches plain
    Python's (2 workers), and the page at / loads nothing from another host."""
    import re

    from openai import OpenAI

    from autograms import Autogram
    from autograms.examples import recruiter

    texts = ["hi", "yes", "I studied physics", "5 years", "80k", "no"]
    plain = Autogram(root_function=recruiter.chatbot, test_mode=True)
    memory, want = None, []
    for text in texts:
        out, memory = plain.reply(text, memory_object=memory)
        want.append(out or "")
    url = f"sqlite:///{tmp_path / 'readme.db'}"
    with S.Server(url, "--workers", "2", bot=S.Path("recruiter")) as srv:
        client = OpenAI(base_url=srv.base + "/v1", api_key="unused")
        held, got = [], []
        for text in texts:
            stream = client.chat.completions.create(
                model="recruiter",
                messages=[*held, {"role": "user", "content": text}],
                stream=True,
                extra_headers={"X-Session-Id": "chat-1"},
            )
            reply = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            got.append(reply)
            held += [u(text), a(reply)]
        assert got == want
        assert srv.session("chat-1")["history"] == held
        page = requests.get(srv.base + "/", timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        for asset in assets:
            assert not re.match(r"(https?:)?//", asset), asset
            if asset.startswith("data:"):
                continue
            body = requests.get(f"{srv.base}/{asset}", timeout=30)
            assert body.status_code == 200, asset
            assert not re.search(r"""(src|href|url|import|fetch)\W+(https?:)?//""", body.text)


def test_chat_page_new_conversation_by_keyboard_keeps_the_old_one_stored(tmp_path):
    """Tab to 'New conversation', Enter: the log empties, the focus is back in the message
    box, a new session starts there; the old conversation stays in the store, unchanged."""
    sync_playwright = _browser()
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with S.Server(url) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(srv.base + "/")
            _wait_for_the_message_box(page)
            page.keyboard.type("hi")
            page.keyboard.press("Enter")
            assert _wait(page, lambda: _log(page) == ["hi", "hello"])
            old = page.evaluate("localStorage.getItem('autograms.session@/')")
            for _ in range(8):
                if page.evaluate("document.activeElement.id") == "new":
                    break
                page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "new"
            page.keyboard.press("Enter")
            assert _wait(page, lambda: _log(page) == [])
            assert page.evaluate("document.activeElement.id") == "message"
            page.keyboard.type("echo:again")
            page.keyboard.press("Enter")
            assert _wait(page, lambda: _log(page) == ["echo:again", "hello"])
            new = page.evaluate("localStorage.getItem('autograms.session@/')")
            assert new != old
            assert srv.session(old)["history"] == [u("hi"), a("hello")]
            assert srv.session(new)["history"] == [u("echo:again"), a("hello")]
            page.reload()
            assert _wait(page, lambda: _log(page) == ["echo:again", "hello"])
        finally:
            browser.close()


def test_port_zero_prints_the_port_it_listens_on(tmp_path):
    import re
    import time

    with S.Server(f"sqlite:///{tmp_path / 'p0.db'}", "--port", "0", wait=False) as srv:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Uvicorn running" not in srv.output():
            time.sleep(0.2)
        output = srv.output()
        real = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", output)
        assert real, output
        assert requests.get(f"http://127.0.0.1:{real.group(1)}/healthz", timeout=30).ok
        banner = re.search(r"autograms serve: \S+ at (http://\S+)/ ", output)
        assert banner, output
        assert requests.get(banner.group(1) + "/healthz", timeout=30).ok


def test_chat_page_after_a_broken_reply_and_a_new_message_shows_the_stored_conversation(
    tmp_path,
):
    sync_playwright = _browser()
    with S.FakeModel([f" t{i}" for i in range(10)], delay=0.2) as fm, sync_playwright() as pw:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'cut.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            browser = pw.chromium.launch(executable_path=str(S.CHROMIUM), args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(srv.base + "/")
                _wait_for_the_message_box(page)
                page.keyboard.type("hi")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: _log(page) == ["hi", "hello"])
                fm.cut_after = 4
                page.keyboard.type("instr go")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: page.is_visible("#error"))
                fm.cut_after = None
                page.focus("#message")
                page.keyboard.type("other")
                page.keyboard.press("Enter")
                assert _wait(page, lambda: _log(page)[-1:] == ["1|other"]), _log(page)
                sid = page.evaluate("localStorage.getItem('autograms.session@/')")
                stored = [m["content"] for m in srv.session(sid)["history"]]
                assert stored == ["hi", "hello", "other", "1|other"]
                assert _log(page) == stored
            finally:
                browser.close()


def _metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=30).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_metrics_count_model_tokens_spent_by_a_turn_that_failed(tmp_path):
    with S.FakeModel(["ok"], prompt_tokens=13, completion_tokens=4) as fm:
        env = {"OPENAI_API_KEY": "unused"}
        url = f"sqlite:///{tmp_path / 'spent.db'}"
        with S.Server(url, *S.model_args(fm), test_mode=False, env=env) as srv:
            held = _start(srv, "f")
            fm.cut_after = 0  # the thought is answered, the streamed reply breaks off
            code, payloads = srv.stream("f", [*held, u("two z")])
            assert payloads[-1] != "[DONE]" and "model_unavailable" in payloads[-1]
            answered = sum(1 for body in fm.bodies if not body.get("stream"))
            assert answered == 1
            view = srv.session("f")
            assert view["version"] == 1 and view["usage"]["calls"] == 0
            assert _metric(srv.base, 'autograms_model_tokens_total{kind="prompt"}') >= 13
