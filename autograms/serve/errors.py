"""HTTP errors: what each failure becomes on the wire, in OpenAI's error shape.

    {"error": {"message": "...", "type": "invalid_request_error", "code": "session_busy",
               "param": null}}

A failure the client can act on gets its status and a code (`HTTPError`); the library's
errors are mapped by `from_exception` (serving.md's conventions: 400 bad request, 401 no or
a wrong API key, 404 no such session, 409 busy / in progress / history mismatch, 413 body too
large, 422 idempotency key reused, 503 with Retry-After when the model or the store is down).
Anything else is a 500 whose body carries only an error id; the log prints the same id with
the traceback. No stack trace ever reaches a response.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.responses import JSONResponse

from ..models.errors import ModelCallError, ModelConfigError
from ..stores.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    SessionBusyError,
    SessionExistsError,
    SessionNotFoundError,
    StoredSessionError,
    StoreUnavailableError,
    TurnInProgressError,
    UnstorableReplyError,
)

logger = logging.getLogger("autograms.serve")

#: OpenAI's error "type" for each status
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    500: "server_error",
    503: "server_error",
}
#: seconds a client should wait before retrying a busy session or a model that is down
BUSY_RETRY_AFTER = 1
MODEL_RETRY_AFTER = 5
STORE_RETRY_AFTER = 2


class HTTPError(Exception):
    """A failure to answer with `status`, a stable `code` and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        error_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.error_id = error_id

    def body(self) -> dict[str, Any]:
        """The JSON body: OpenAI's error object (plus the error id of a 500)."""
        error = {
            "message": self.message,
            "type": _TYPES.get(self.status, "server_error"),
            "code": self.code,
            "param": None,
        }
        if self.error_id is not None:
            error["id"] = self.error_id
        return {"error": error}

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return headers

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=self.status, headers={**self.headers(), **(headers or {})}
        )


def bad_request(message: str, code: str = "invalid_request") -> HTTPError:
    return HTTPError(400, code, message)


def from_exception(
    error: BaseException, where: str, session_id: str | None = None, *, keyed: bool = True
) -> HTTPError:
    """The HTTP error for an exception raised while serving `where` (e.g. "POST /v1/..."):
    the library's errors by kind, named with the client's `session_id`; anything else an
    internal error logged with its id. `keyed` says whether the client sent an idempotency
    key (an OpenAI client does not: it is told to send the same request again)."""
    if isinstance(error, HTTPError):
        return error
    session = f"session {session_id!r}" if session_id is not None else "the session"
    retry = (
        "retry later with the same idempotency key"
        if keyed
        else "send the same request again later"
    )
    if isinstance(error, InvalidInputError):
        return bad_request(f"{error}; {session} is as it was", "invalid_input")
    if isinstance(error, SessionNotFoundError):
        return HTTPError(404, "session_not_found", f"no {session}")
    if isinstance(error, SessionExistsError):
        return HTTPError(409, "session_exists", f"{session} exists already")
    if isinstance(error, SessionBusyError):
        return HTTPError(
            409,
            "session_busy",
            f"{session} is busy with another message; send yours again later",
            retry_after=BUSY_RETRY_AFTER,
        )
    if isinstance(error, TurnInProgressError):
        return HTTPError(
            409,
            "turn_in_progress",
            f"the turn with this idempotency key of {session} is running now; {retry}"
            if keyed
            else f"this message of {session} is being answered for another request now; {retry}",
            retry_after=BUSY_RETRY_AFTER,
        )
    if isinstance(error, IdempotencyKeyReusedError):
        return HTTPError(
            422,
            "idempotency_key_reused",
            f"this idempotency key was used for another message of {session}; use a new key "
            "for a new message",
        )
    if isinstance(error, ModelCallError):
        logger.warning("model call failed while serving %s: %s", where, error)
        return HTTPError(
            503,
            "model_unavailable",
            f"the bot's model did not answer; nothing was recorded: {retry}",
            retry_after=MODEL_RETRY_AFTER,
        )
    if isinstance(error, StoreUnavailableError):
        logger.warning("store unavailable while serving %s: %s", where, error)
        return HTTPError(
            503,
            "store_unavailable",
            f"the session store cannot be reached; {retry}",
            retry_after=STORE_RETRY_AFTER,
        )
    if isinstance(error, StoredSessionError) and error.reason == "other program":
        # bots sharing a store share its conversation ids: not the server's failure, and
        # the other bot is not named to this one's clients
        return HTTPError(
            409,
            "session_of_another_bot",
            f"{session} is a conversation of another bot on this server's store; "
            "use another conversation id",
        )
    if isinstance(error, StoredSessionError):
        return internal_error(error, where, "session_refused", f"{session} was refused")
    if isinstance(error, UnstorableReplyError):
        # the bot's (or its model's) reply: the request was fine, so not a 400
        return internal_error(
            error, where, "reply_not_storable", "the bot's reply could not be stored"
        )
    if isinstance(error, ModelConfigError):
        return internal_error(error, where, "model_not_configured", "the bot has no usable model")
    return internal_error(error, where)


def internal_error(
    error: BaseException,
    where: str,
    code: str = "internal_error",
    what: str = "internal error",
) -> HTTPError:
    """A 500 naming an error id; the log holds the traceback under the same id."""
    error_id = uuid.uuid4().hex[:12]
    logger.error("error %s while serving %s", error_id, where, exc_info=error)
    return HTTPError(
        500,
        code,
        f"{what} (error id {error_id}; the server log has the details); the session is as it "
        "was before this request",
        error_id=error_id,
    )
