"""Outside tests of the chat page of `autograms serve` in headless Chromium (Debian's
/usr/bin/chromium through Playwright; README: "no CDN: it works offline, streams replies, keeps
the conversation across a reload, and is usable with the keyboard"; the issue: "shows errors
plainly")."""

import json
import os
import sys
import textwrap
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402

from tests import chat_page  # noqa: E402

HTML_BOT = """
    from autograms import autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        text = reply("<img src=x onerror=\\"window.pwned=1\\"><b>bold</b> & more")
        while True:
            if text == "boom":
                raise ValueError("secret-internal-detail")
            text = reply(f"you said <i>{text}</i>")
"""


def log_text(page):
    return page.inner_text("#log")


def send(page, text):
    page.fill("#message", text)
    page.press("#message", "Enter")


def test_the_page_streams_a_reply_and_a_reload_mid_stream_keeps_the_conversation(tmp_path):
    bot = sup.write_bot(tmp_path, "modelbot", sup.MODEL_BOT)
    with sup.FakeModel(words=10, delay=0.3) as model:
        with sup.Server(bot, "--base-url", model.url, "--model", "fake", folder=tmp_path) as server:
            with sup.chromium_page() as page:
                outside = []
                page.on("request", lambda r: r.url.startswith(server.base) or outside.append(r.url))
                page.goto(server.base + "/")
                send(page, "hi")
                sup.wait_text(page, "#log", lambda t: "hello" in t)
                send(page, "tell me")
                # a part of the reply is on the page before the model has finished
                sup.wait_text(page, "#log", lambda t: "w1" in t, timeout=20)
                assert "w9" not in log_text(page)
                page.reload()
                sup.wait_text(page, "#log", lambda t: "w9" in t)
                chat_page.wait_idle(page)
                text = log_text(page)
                assert text.count("tell me") == 1 and text.count("w0") == 1, text
                send(page, "more")
                sup.wait_text(page, "#log", lambda t: t.count("w9") == 2)
                page.screenshot(path=str(tmp_path / "page.png"))
                assert outside == []
            # the page shows a streamed reply's last words before the turn is committed
            session_id = page_session_id(server)
            deadline = time.monotonic() + 10
            while server.session(session_id)["version"] < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.session(session_id)["version"] == 3


def page_session_id(server):
    _, _, raw = sup.request("GET", server.base + "/v1/sessions")
    ids = [s["id"] for s in json.loads(raw)["data"]]
    assert len(ids) == 1, ids
    return ids[0]


def test_html_in_replies_and_messages_is_shown_as_text(tmp_path):
    bot = sup.write_bot(tmp_path, "htmlbot", HTML_BOT)
    with sup.Server(bot, "--test-mode", folder=tmp_path) as server:
        with sup.chromium_page() as page:
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server.base + "/")
            send(page, "<script>window.pwned=2</script>")
            sup.wait_text(page, "#log", lambda t: "bold" in t)
            send(page, '<img src=y onerror="window.pwned=3">')
            sup.wait_text(page, "#log", lambda t: "you said" in t)
            page.wait_for_timeout(500)
            assert page.evaluate("window.pwned") is None
            assert page.locator("#log img, #log b, #log i, #log script").count() == 0
            assert '<img src=x onerror="window.pwned=1"><b>bold</b> & more' in log_text(page)
            assert dialogs == []


def test_keyboard_only_chat_with_a_multiline_message_and_a_plain_error(tmp_path):
    bot = sup.write_bot(tmp_path, "htmlbot", HTML_BOT)
    with sup.Server(bot, "--test-mode", folder=tmp_path) as server:
        with sup.chromium_page() as page:
            page.goto(server.base + "/")
            chat_page.focus_message_box(page)
            page.keyboard.type("hello")
            page.keyboard.press("Enter")
            sup.wait_text(page, "#log", lambda t: "bold" in t)
            page.keyboard.type("line one")
            page.keyboard.press("Shift+Enter")
            page.keyboard.type("line two")
            page.keyboard.press("Enter")
            sup.wait_text(page, "#log", lambda t: "you said" in t)
            assert "line one\nline two" in page.inner_text("#log")
            page.keyboard.type("boom")
            page.keyboard.press("Enter")
            error = sup.wait_text(page, "#error-text", lambda t: "error id" in t)
            assert "secret-internal-detail" not in error and "Traceback" not in error
            assert page.is_visible("#error")
        stored = [
            s["id"] for s in json.loads(sup.request("GET", server.base + "/v1/sessions")[2])["data"]
        ]
        assert server.session(stored[0])["version"] == 2


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-page-keys")
    bot = sup.write_bot(folder, "echobot", sup.ECHO_BOT)
    with sup.Server(
        bot, "--test-mode", "--api-key", "right-key", folder=folder, env={"AUTOGRAMS_API_KEYS": ""}
    ) as server:
        yield server


def enter_key(page, server, wrong_first=True):
    page.goto(server.base + "/")
    page.wait_for_selector("#key", state="visible")
    if wrong_first:
        page.fill("#key", "wrong-key")
        page.press("#key", "Enter")
        sup.wait_text(page, "#error-text", lambda t: len(t) > 0)
    page.fill("#key", "right-key")
    page.press("#key", "Enter")
    page.wait_for_selector("#key-form", state="hidden")
    # the page has opened its session with the key
    saved = "() => localStorage.getItem('autograms.session@/')"
    chat_page.wait_for(page, lambda: page.evaluate(saved), "the page to open a session")


def test_the_page_clears_the_key_error_once_a_valid_key_is_entered(keyed):
    with sup.chromium_page() as page:
        enter_key(page, keyed)
        assert page.is_hidden("#error"), page.inner_text("#error-text")


def test_after_entering_the_key_typing_goes_to_the_message_box(keyed):
    with sup.chromium_page() as page:
        enter_key(page, keyed, wrong_first=False)
        page.keyboard.type("typed without clicking")
        page.keyboard.press("Enter")
        sup.wait_text(page, "#log", lambda t: "typed without clicking" in t)


MOUNT_APP = """
    import sys
    sys.path.insert(0, {folder!r})
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from autograms import Autogram
    from autograms.serve import create_app
    from autograms.stores import open_store
    import echobot, htmlbot

    app = Starlette(routes=[
        Mount("/a", app=create_app(Autogram(root_function=echobot.chatbot, test_mode=True),
                                   open_store("sqlite:///" + {folder!r} + "/a.db"))),
        Mount("/b", app=create_app(Autogram(root_function=htmlbot.chatbot, test_mode=True),
                                   open_store("sqlite:///" + {folder!r} + "/b.db"))),
    ])
"""


def test_two_mounted_bots_each_keep_their_conversation_across_visits(tmp_path):
    sup.write_bot(tmp_path, "echobot", sup.ECHO_BOT)
    sup.write_bot(tmp_path, "htmlbot", HTML_BOT)
    (tmp_path / "mounted.py").write_text(textwrap.dedent(MOUNT_APP.format(folder=str(tmp_path))))
    argv = [sys.executable, "-m", "uvicorn", "mounted:app", "--host", "127.0.0.1", "--port", "0"]
    with sup.Server(None, argv=argv, folder=tmp_path, ready_path="/a/healthz") as server:
        with sup.chromium_page() as page:
            page.goto(server.base + "/a/")
            send(page, "first at a")
            sup.wait_text(page, "#log", lambda t: "hello" in t)
            page.goto(server.base + "/b/")
            send(page, "first at b")
            sup.wait_text(page, "#log", lambda t: "bold" in t)
            page.goto(server.base + "/a/")
            assert "first at b" not in sup.wait_text(page, "#log", lambda t: "first at a" in t)
