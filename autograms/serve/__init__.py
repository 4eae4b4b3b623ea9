"""``autograms serve``: a bot as an HTTP service the OpenAI SDK, chat UIs, ``curl`` and a
browser can talk to, on a session store shared by any number of workers.

    from autograms.serve import create_app
    app = create_app(autogram, "sqlite:///sessions.db", api_keys=["..."])

Needs the ``serve`` extra (``pip install 'autograms[serve]'``: Starlette, uvicorn,
prometheus_client). Modules, one concept each: `app` (the app factory and its routes),
`openai_api` (``/v1/chat/completions``, ``/v1/models``), `history` (an OpenAI client's
conversation checked against the session), `sessions_api` (the native session routes), `auth`
(API keys and owners), `inputs` (request bodies and ids), `service` (the state routes share
and how they run turns), `threads` (the threads turns run in), `streaming` (a reply streamed
while the model writes it, and the event-stream response), `lifecycle`
(graceful shutdown), `errors` (failures as HTTP responses), `logs` (structured request logs),
`metrics` (Prometheus), `operations` (``/healthz``, ``/metrics``), `page` (the chat page).
"""

from .app import create_app

__all__ = ["create_app"]
