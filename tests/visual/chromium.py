"""A minimal Chrome DevTools Protocol client for headless Chromium, over
``--remote-debugging-pipe`` (commands on the browser's fd 3, answers on its fd 4, each message
ending in a NUL byte): no port, no websocket, no third-party package."""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class BrowserError(Exception):
    """Chromium failed, answered with an error, or did not answer in time."""


class Browser:
    """One headless Chromium process with a fresh profile in `profile_dir`."""

    def __init__(self, profile_dir: Path, log_path: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.log_path = log_path
        self.events: list[dict] = []
        self._next_id = 0
        self._buffer = b""
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()

        def as_fd_3_and_4() -> None:  # runs in the child between fork and exec
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=False,
                preexec_fn=as_fd_3_and_4,
            )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._write = to_browser_write
        self._read = from_browser_read

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; events seen meanwhile go to `events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method} failed: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise BrowserError(f"no answer from chromium in {self.timeout:g}s; {self._log()}")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed its pipe; {self._log()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _log(self) -> str:
        tail = self.log_path.read_text(errors="replace")[-1500:]
        return f"exit status {self.process.poll()}, log tail:\n{tail}"

    def open(self, url: str, width: int = 1400, height: int = 900) -> Page:
        """A new tab showing `url`, once its load event has fired."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Network.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        page.call("Page.navigate", {"url": url})
        page.wait_for("document.readyState === 'complete'")
        return page

    def close(self) -> None:
        """Ask Chromium to quit; kill it if it does not."""
        try:
            self.call("Browser.close")
        except BrowserError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


class Page:
    """One tab of a `Browser`."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(self, method: str, params: dict | None = None) -> dict:
        return self.browser.call(method, params, self.session)

    def evaluate(self, expression: str) -> object:
        """The JSON value of a JavaScript expression in the page."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression!r} raised: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> None:
        """Poll until `expression` is truthy in the page."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression!r}")
            time.sleep(0.05)

    def click(self, x: float, y: float, shift: bool = False) -> None:
        """A real left click (press and release) at viewport point (x, y)."""
        modifiers = 8 if shift else 0
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": x,
                    "y": y,
                    "button": "left",
                    "clickCount": 1,
                    "modifiers": modifiers,
                },
            )

    def centre_of(self, selector: str) -> tuple[float, float]:
        """Viewport centre of the first element matching `selector`, scrolled into view."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center', inline: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        return box[0], box[1]

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the viewport at `path`."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def exceptions(self) -> list[str]:
        """Uncaught JavaScript exceptions of the page so far."""
        return [
            json.dumps(event["params"]["exceptionDetails"])[:2000]
            for event in self.browser.events
            if event.get("method") == "Runtime.exceptionThrown"
            and event.get("sessionId") == self.session
        ]

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for so far."""
        return [
            event["params"]["request"]["url"]
            for event in self.browser.events
            if event.get("method") == "Network.requestWillBeSent"
            and event.get("sessionId") == self.session
        ]
