"""Loops that sleep until woken, or until a timeout, whichever comes first."""

from __future__ import annotations

import asyncio
import contextlib

from bot.store.errors import STORE_ERRORS

MAX_BACKOFF_S = 30.0


async def wait_for_wake(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    event.clear()


class Loop:
    """A background loop that runs `tick` when woken (or every `interval`), and stops between ticks,
    so a graceful shutdown never interrupts one half-way (a send that reached the platform but
    was not yet marked sent would be repeated after the restart)."""

    interval = 1.0

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self._stopping = False

    async def tick(self) -> int:
        raise NotImplementedError

    async def run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            await wait_for_wake(self.wake, max(self.interval, backoff))
            try:
                while not self._stopping and await self.tick():
                    pass
                backoff = 0.0
            except STORE_ERRORS:
                # the database refuses writes (a full disk, read-only files): its health reports it;
                # keep the process up and try again, less often while it lasts
                backoff = min(MAX_BACKOFF_S, max(1.0, backoff * 2))

    def stop(self) -> None:
        self._stopping = True
        self.wake.set()
