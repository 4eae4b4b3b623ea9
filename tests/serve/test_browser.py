"""The chat page in real headless Chromium (Debian's, driven by Playwright's Python API; its own
browser download never runs): type with the keyboard, watch the reply stream in, reload,
continue, see an error shown plainly. A screenshot is kept in the test's tmp folder."""

from __future__ import annotations

import os
import shutil

import pytest

from tests import chat_page as C
from tests.serve.bots.streamer import WELCOME
from tests.serve.server import FILLER, ServeProcess, model_config, start_model

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
#: where the page keeps its conversation's id (served at /)
SESSION_KEY = "autograms.session@/"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed (tools/system_deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page_service(tmp_path):
    model = start_model(token_delay=0.08)
    service = ServeProcess(tmp_path, config=model_config(model)).start()
    yield service
    service.stop()
    model.stop()


def messages(page) -> list[tuple[str, str]]:
    found = page.eval_on_selector_all(
        "#log li", "items => items.map(i => [i.className, i.querySelector('.text').textContent])"
    )
    return [tuple(item) for item in found]


def send(page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def wait_done(page, count: int | None = None) -> None:
    """Until the reply has come and the page waits for the next message (showing `count`
    messages: a message typed while the page opens its session waits for it)."""
    C.wait_idle(page, count)


def wait_count(page, count: int) -> None:
    """Until the page shows `count` messages."""
    C.wait_for(page, lambda: len(C.shown(page).items) == count, f"{count} messages")


def test_type_watch_the_reply_stream_reload_and_continue(browser, page_service, tmp_path):
    page = browser.new_page()
    page.goto(f"{page_service.url}/")
    assert page.title() == "streamer"
    C.focus_message_box(page)
    send(page, "hi")
    wait_done(page, 2)
    assert C.shown(page).texts == ["hi", WELCOME]

    send(page, "tell me something")
    # while the model writes (11 words, 0.08 s apart), the bubble holds part of the reply
    partial = C.wait_js(
        page,
        """() => {
            const item = document.querySelector('#log li.assistant.streaming .text');
            const text = item ? item.textContent : '';
            return text.length > 0 && !text.endsWith('about it') ? text : false;
        }""",
        "a part of the reply while it streams",
    ).json_value()
    wait_done(page)
    reply = messages(page)[-1][1]
    assert reply.startswith(partial) and reply.endswith(FILLER) and len(partial) < len(reply)

    page.reload()
    wait_count(page, 4)
    assert messages(page) == [
        ("user", "hi"),
        ("assistant", WELCOME),
        ("user", "tell me something"),
        ("assistant", reply),
    ]
    page.focus("#message")
    send(page, "fixed and done")
    wait_count(page, 6)
    wait_done(page)
    assert messages(page)[-1] == ("assistant", "Fixed answer to fixed and done.")

    send(page, "boom")
    error = C.wait_error(page)
    assert error.startswith("The message could not be completed: internal error (error id ")
    assert "Traceback" not in error
    assert page.evaluate("() => document.activeElement.id") == "retry"  # the keyboard is on Retry
    assert not page.is_visible("#key-form")  # no API key is needed here
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 1000


def _open(browser, url: str, session: str | None = None):
    """A page in a context of its own (its own localStorage), on `session` when given."""
    page = browser.new_context().new_page()
    page.goto(f"{url}/")
    if session is not None:
        # once the page has stored the session it opened (else that may overwrite this one)
        saved = f"() => localStorage.getItem({SESSION_KEY!r})"
        C.wait_for(page, lambda: page.evaluate(saved), "the page to open a session")
        page.evaluate(f"sid => localStorage.setItem({SESSION_KEY!r}, sid)", session)
        page.reload()
    C.focus_message_box(page)
    return page


def test_a_tab_behind_the_conversation_is_refused_shown_it_and_sends_again(browser, service):
    """Two windows on one conversation (separate storage: neither hears of the other): the
    one that did not see the other's turn is refused, shows the conversation as it is, and
    "Send again" sends the message on it."""
    one = _open(browser, service.url)
    send(one, "fixed a")
    wait_done(one, 2)
    session = one.evaluate(f"() => localStorage.getItem({SESSION_KEY!r})")
    two = _open(browser, service.url, session)
    wait_count(two, 2)
    send(one, "fixed b")
    wait_count(one, 4)
    wait_done(one)
    two.focus("#message")
    send(two, "fixed c")
    assert "changed in another tab" in C.wait_error(two)
    assert messages(two) == messages(one)  # the conversation as it is, without "fixed c"
    two.click("#retry")
    wait_count(two, 6)
    wait_done(two)
    assert messages(two)[-2:] == [("user", "fixed c"), ("assistant", "Fixed answer to fixed c.")]
    one.reload()
    wait_count(one, 6)
    assert messages(one) == messages(two)
    for page in (one, two):
        page.context.close()
