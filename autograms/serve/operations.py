"""Routes for operators: ``GET /healthz`` (is the store reachable?) and ``GET /metrics``
(Prometheus). The health check needs no API key, so a load balancer can probe it; the
metrics need one when keys are configured."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .metrics import CONTENT_TYPE
from .service import Service

#: how long the health check waits for the store (a load balancer wants a quick answer)
HEALTH_SECONDS = 2.0


async def healthz(request: Request) -> Response:
    """200 when the store answers within `HEALTH_SECONDS` (and the server is not shutting
    down), else 503."""
    service: Service = request.app.state.service
    try:
        await asyncio.wait_for(service.call(service.store.schema_version), HEALTH_SECONDS)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "store": service.store.url, "reason": type(exc).__name__},
            status_code=503,
            headers={"Retry-After": "2"},
        )
    status = "draining" if service.drain.draining else "ok"
    return JSONResponse(
        {"status": status, "bot": service.settings.name, "store": service.store.url},
        status_code=503 if service.drain.draining else 200,
    )


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    service.owner(request.headers.get("authorization"))
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)
