"""`create_app`: the ASGI app serving one bot from one store.

    from autograms.serve import create_app
    app = create_app(autogram, "sqlite:///sessions.db")        # run it: uvicorn module:app

A team can mount it in its own Starlette or FastAPI application (``app.mount("/bot",
create_app(...))``); the page and every route work under the mount path. Mounted apps get no
lifespan events from Starlette: the graceful drain on SIGTERM then is the host's business.

Following one request to one committed turn: a route (`openai_api`, `sessions_api`) checks the
caller (`auth`) and the input (`inputs`, `history`), then `Service.run_turn` or
`Service.start_turn` (`service`) hands the turn to a worker thread, where
`autograms.stores.TurnRunner.run_turn` claims the session, runs the program (the engine, as
for `Autogram.reply`) and commits it with a version check in the store's backend
(`autograms.stores.sqlite` / `postgres`). A streamed reply travels back through `streaming`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..autogram import Autogram
from ..models.tokens import counter_for_model
from ..stores import Store, TurnRunner, open_store
from . import openai_api, operations, sessions_api
from .auth import ApiKeys
from .errors import HTTPError, from_exception
from .lifecycle import drain_on_signals
from .logs import RequestLog
from .page import ChatPage
from .service import Service, Settings

logger = logging.getLogger("autograms.serve")

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(
    autogram: Autogram,
    store: Store | str,
    *,
    name: str | None = None,
    api_keys: Iterable[str] = (),
    policy: str = "enqueue",
    lease_seconds: float = 30.0,
    max_body_bytes: int = 1_000_000,
    max_turns: int = 64,
    max_session_turns: int = 4,
    ping_seconds: float = 10.0,
    drain_seconds: float = 20.0,
) -> Starlette:
    """An ASGI app serving `autogram`'s bot from `store` (a `Store`, or a URL the app opens
    and closes itself).

    `name` is the bot's name (the model id OpenAI clients see; default: its module's). With
    `api_keys`, every API request needs one of them and sees only its own sessions. `policy`
    is the turn runner's for a second message to a busy session (``"enqueue"`` or
    ``"reject"``); `lease_seconds` how long a turn whose worker died keeps the session's
    later turns (and retries of itself) waiting. See `autograms.serve.service.Settings` for
    the rest.
    """
    _warm_up(autogram)
    owns_store = isinstance(store, str)
    opened = open_store(store) if isinstance(store, str) else store
    settings = Settings(
        name=name or bot_name(autogram),
        max_body_bytes=max_body_bytes,
        max_turns=max_turns,
        max_session_turns=max_session_turns,
        ping_seconds=ping_seconds,
        drain_seconds=drain_seconds,
    )
    runner = TurnRunner(autogram, opened, policy=policy, lease_seconds=lease_seconds)
    service = Service(runner, settings, api_keys=ApiKeys(api_keys))
    page = ChatPage(settings.name)
    app = Starlette(
        routes=_routes(page),
        lifespan=_lifespan(service, owns_store),
        exception_handlers={StarletteHTTPException: _routing_error},
    )
    app.state.service = service
    app.add_middleware(RequestLog, metrics=service.metrics)
    return app


def _warm_up(autogram: Autogram) -> None:
    """Load the model client and the tokenizer, and save one new session, now, so that the
    first user does not wait for them (the openai SDK alone takes a second or more to
    import; the engine indexes the loaded modules at its first save, tens of ms)."""
    counter_for_model(autogram.config.chatbot_path).count(type(autogram.model).__name__)
    warm_up = getattr(autogram.model, "warm_up", None)
    if callable(warm_up):
        warm_up()
    try:
        autogram.serialize(autogram.init_memory(), include_log=False)
    except Exception:  # the first request that needs a session reports it, as an error
        logger.debug("saving a new session failed while warming up", exc_info=True)


def bot_name(autogram: Autogram) -> str:
    """The name of `autogram`'s bot: its root function's module, without the package."""
    module = getattr(autogram.root_function, "__module__", None) or "bot"
    return module.rpartition(".")[2].removeprefix("autograms_bot_")


def _routes(page: ChatPage) -> list[Route]:
    def route(path: str, endpoint: Endpoint, *methods: str) -> Route:
        return Route(path, _guarded(endpoint), methods=list(methods))

    return [
        route("/", page.index, "GET"),
        route("/static/{name}", page.asset, "GET"),
        route("/healthz", operations.healthz, "GET"),
        route("/metrics", operations.metrics, "GET"),
        route("/v1/models", openai_api.list_models, "GET"),
        route("/v1/models/{model}", openai_api.get_model, "GET"),
        route("/v1/chat/completions", openai_api.chat_completions, "POST"),
        route("/v1/sessions", sessions_api.create_session, "POST"),
        route("/v1/sessions", sessions_api.list_sessions, "GET"),
        route("/v1/sessions/{session_id}", sessions_api.get_session, "GET"),
        route("/v1/sessions/{session_id}", sessions_api.delete_session, "DELETE"),
        route("/v1/sessions/{session_id}/messages", sessions_api.send_message, "POST"),
    ]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """`endpoint` whose every failure becomes an error response (an unexpected one a 500
    with an error id): nothing escapes to the server, no traceback reaches a client."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            return from_exception(exc, f"{request.method} {request.url.path}").response()

    return guarded


async def _routing_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404 (no route) and 405 (wrong method), in the API's error shape."""
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    message = f"no route {request.method} {request.url.path}" if status in (404, 405) else code
    headers = getattr(exc, "headers", None) or {}
    return HTTPError(status, code, message).response(dict(headers))


def _lifespan(
    service: Service, owns_store: bool
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with drain_on_signals(service.drain):
            yield
            service.drain.start()
            await service.in_flight.wait(service.settings.drain_seconds)
            # turns still running will not finish here: their sessions need not wait out
            # the lease before a retry runs them on another worker
            abandoned = service.runner.abandon_running()
            if abandoned:
                logger.info("left the queue for %d unfinished turn(s)", abandoned)
        if owns_store:
            service.store.close()

    return lifespan
