"""Looking at the chat page of `autograms serve` from a test (Playwright's sync API), so that
a wait that fails says what the page showed: its messages, its error, its status line.

Shared by the browser tests of tests/serve and tests/outside. `wait_for` polls a Python
condition; `wait_js` waits in the page itself, for states too short-lived to be polled from
here (a reply while it streams)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: seconds a wait gives the page by default: CI runs the browser tests on a loaded 2-core box
TIMEOUT = 60.0
#: seconds between two looks at the page
STEP = 0.1

_READ = """() => {
    const text = (id) => (document.getElementById(id) || {}).textContent || "";
    const box = document.getElementById("error");
    const send = document.getElementById("send");
    return {
        items: [...document.querySelectorAll("#log li")].map((li) => [
            li.className, (li.querySelector(".text") || li).textContent]),
        error: box && !box.hidden ? text("error-text") : null,
        status: text("status"),
        sending: Boolean(send && send.disabled),
        focus: document.activeElement ? document.activeElement.id : "",
        key_form: !document.getElementById("key-form").hidden,
    };
}"""


@dataclass(frozen=True)
class Shown:
    """What the page shows at one moment."""

    #: the conversation's items as (class names, text): "user", "assistant", "assistant
    #: streaming" while a reply comes, "assistant failed" for a reply that broke off
    items: list[tuple[str, str]]
    #: the error box's text, None while it is hidden
    error: str | None
    #: the status line ("bot is replying…" while a message is on its way)
    status: str
    #: whether the Send button is disabled (a message is on its way)
    sending: bool
    #: the id of the element with the keyboard focus
    focus: str
    #: whether the API key form shows
    key_form: bool

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.items]

    @property
    def idle(self) -> bool:
        """Nothing on its way: the page waits for the user."""
        return not self.sending and not any("streaming" in kind for kind, _ in self.items)

    def __str__(self) -> str:
        lines = [f"  {kind}: {text[:300]!r}" for kind, text in self.items] or ["  (no messages)"]
        return "\n".join(
            [
                "the page shows:",
                *lines,
                f"  error: {self.error!r}",
                f"  status: {self.status!r}, send disabled: {self.sending}, "
                f"focus: #{self.focus}, key form: {self.key_form}",
            ]
        )


def shown(page) -> Shown:
    """What `page` shows now, read in one evaluation: read in two calls (the messages, then
    whether Send is enabled), a reply that ended between them passed for done with the empty
    bubble of the first read (CI's 3.12 failure of test_chat_page_streams_keeps_conversation_
    across_reload; a fast-polling loop of that read pair hit it 8 times in 149 messages)."""
    found = page.evaluate(_READ)
    return Shown(
        items=[(kind, text) for kind, text in found["items"]],
        error=found["error"],
        status=found["status"],
        sending=found["sending"],
        focus=found["focus"],
        key_form=found["key_form"],
    )


def describe(page, log: Callable[[], str] | None = None) -> str:
    """What the page shows, and the end of the server's log when `log` reads it."""
    try:
        text = str(shown(page))
    except Exception as exc:  # a closed or crashed page: say so instead of hiding the cause
        text = f"the page could not be read: {exc!r}"
    if log is not None:
        text += "\nthe server's log ends with:\n" + log()[-3000:]
    return text


def wait_for(
    page,
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = TIMEOUT,
    log: Callable[[], str] | None = None,
    error_expected: bool = False,
) -> T:
    """Poll `condition()` until it is truthy and return its value. Fails with what the page
    showed when `timeout` seconds pass, or at once when the page is idle showing an error
    the test does not expect (it will not change by itself: waiting longer hides nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        now = shown(page)  # before the condition: an error it shows was there before
        value = condition()
        if value:
            return value
        if not error_expected and now.error is not None and now.idle:
            raise AssertionError(f"waiting for {what}, the page showed an error; {now}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waiting for {what}: not within {timeout:g} s; {describe(page, log)}"
            )
        time.sleep(STEP)


def wait_idle(page, count: int | None = None, **options) -> Shown:
    """Wait until the page waits for the user again (and, with `count`, shows that many
    messages); fails on an error shown meanwhile (see `wait_for`)."""
    what = "the page to be ready for the next message"
    if count is not None:
        what += f" with {count} messages"

    def ready() -> Shown | None:
        now = shown(page)
        enough = count is None or len(now.items) == count
        return now if now.idle and now.error is None and enough else None

    return wait_for(page, ready, what, **options)


def wait_error(page, **options) -> str:
    """Wait until the page shows an error and waits for the user; its text."""
    now = wait_for(
        page,
        lambda: (lambda s: s if s.error is not None and s.idle else None)(shown(page)),
        "the page to show an error",
        error_expected=True,
        **options,
    )
    return now.error


def focus_message_box(page, **options) -> None:
    """Wait for the message box to have the keyboard focus. Chromium moves the focus to an
    autofocus field a moment after the load event that ``goto`` waits for: keys typed before
    go to the page's body (no user types that fast)."""
    wait_for(
        page,
        lambda: shown(page).focus == "message",
        "the message box to have the focus",
        **options,
    )


def wait_js(page, expression: str, what: str, *, timeout: float = TIMEOUT, log=None):
    """``page.wait_for_function(expression)`` (its value, as a JSHandle), failing with what
    the page showed instead of Playwright's bare timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(expression, timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"waiting for {what}: not within {timeout:g} s; {describe(page, log)}"
        ) from None
