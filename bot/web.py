"""One ASGI app for the HTTP endpoints: /healthz, /metrics and each channel's callbacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.store.errors import STORE_ERRORS


class HasHealth(Protocol):
    name: str

    def healthy(self) -> bool: ...

    def routes(self) -> list[Route]: ...


def build_web(
    store, channels: Sequence[HasHealth], status: Callable[[], dict] | None = None, pages: Sequence[Route] = ()
) -> Starlette:
    """`status`: this worker's name, whether it leads, and which channels wait for it to lead;
    `pages`: the public pages (the status page)."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            database = "ok" if await store.ping() else "error"
        except Exception as exc:  # a locked or vanished file must read as unhealthy, not crash
            database = f"error: {exc}"
        if database == "ok" and store.health.failing:
            database = f"error: writes failing: {store.health.failing}"
        about = status() if status is not None else {}
        standby = set(about.get("standby", ()))
        states = {c.name: "standby" if c.name in standby else "running" if c.healthy() else "down" for c in channels}
        ok = database == "ok" and all(state != "down" for state in states.values())
        body = {"status": "ok" if ok else "unavailable", "database": database, "channels": states}
        body |= {k: v for k, v in about.items() if k != "standby"}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def storage_failing(request: Request, exc: Exception) -> JSONResponse:
        # the store's health has logged it (once, with a count): the platform retries on a 503
        return JSONResponse({"error": "storage unavailable, retry later"}, status_code=503)

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", prometheus, methods=["GET"]), *pages]
    for channel in channels:
        routes.extend(channel.routes())
    return Starlette(routes=routes, exception_handlers={error: storage_failing for error in STORE_ERRORS})
