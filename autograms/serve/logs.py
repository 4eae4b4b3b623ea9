"""Structured request logs: one JSON line per request, and the metrics every request counts.

`RequestLog` wraps the app (plain ASGI, so streamed responses pass through untouched) and logs
to ``autograms.serve.access`` when a response has been sent whole -- a stream when it ends:

    {"time": "...", "level": "INFO", "logger": "autograms.serve.access", "message": "request",
     "method": "POST", "path": "/v1/chat/completions", "route": "chat_completions",
     "status": 200, "ms": 12.4, "session": "chat-42", "client": "127.0.0.1"}

`JsonFormatter` writes every record of the ``autograms`` loggers that way (``autograms serve``
installs it); an internal error's record carries its error id and traceback, the response only
the id.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics

access = logging.getLogger("autograms.serve.access")

#: attributes every LogRecord has (and uvicorn's colour copy of its message): what is not
#: among them was passed with extra=
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "color_message",
}


class RequestLog:
    """ASGI middleware: log each request and count it in `metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "session": None}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"x-session-id":
                        response["session"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, response, time.perf_counter() - start)

    def _record(self, scope: Scope, response: dict[str, Any], seconds: float) -> None:
        endpoint = scope.get("endpoint")
        route = getattr(endpoint, "__name__", None) or "unmatched"
        status = response["status"]
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.request_seconds.labels(route).observe(seconds)
        if not access.isEnabledFor(logging.INFO):
            return
        session = response["session"] or scope.get("path_params", {}).get("session_id")
        client = scope.get("client")
        access.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
                "session": session,
                "client": client[0] if client else None,
            },
        )


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message, the fields passed with
    ``extra=``, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
