"""uvicorn's HTTP protocol with what a server on the open internet needs and uvicorn lacks: a
deadline for a request's headers and one for its whole body (a slow client that sends one byte
every few seconds is cut off), and a cap on open connections that keeps room for /healthz, so a
flood of idle connections can't exhaust the file descriptors or hide the bot from its monitor."""

from __future__ import annotations

import asyncio

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEALTH_PATH = b"/healthz"
HEALTH_ROOM = 16  # connections beyond the cap still accepted, for /healthz only


class GuardedHttpProtocol(HttpToolsProtocol):
    header_timeout = 10.0  # seconds from a request's first byte (or the connection) to its last header
    body_timeout = 30.0  # seconds from the last header to the last byte of the body
    max_connections = 512  # beyond this, only /healthz is served; beyond it and HEALTH_ROOM, none

    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def configured(cls, header_timeout: float, body_timeout: float, max_connections: int) -> type[GuardedHttpProtocol]:
        return type(
            "GuardedHttpProtocol",
            (cls,),
            {"header_timeout": header_timeout, "body_timeout": body_timeout, "max_connections": max_connections},
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections + HEALTH_ROOM:
            transport.abort()  # not even room for /healthz: drop it now rather than hold a descriptor
            return
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout)  # a keep-alive connection's next request

    def on_headers_complete(self) -> None:
        crowded = len(self.connections) > self.max_connections
        health = crowded and _is_health(self.url)
        # uvicorn answers 503 when its connections reach limit_concurrency: set per request
        self.limit_concurrency = self.max_connections if crowded and not health else None
        super().on_headers_complete()
        self._arm(self.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def _is_health(url: bytes) -> bool:
    try:
        return httptools.parse_url(url).path == HEALTH_PATH
    except httptools.HttpParserInvalidURLError:
        return False  # uvicorn answers the bad URL itself
