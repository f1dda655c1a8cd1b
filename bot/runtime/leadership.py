"""One leader among the workers, for what only one process may do: hold Telegram's long poll or the
intelligent bot's long connection, and send (one sender keeps every platform limit whole across the
workers, and a chat's messages in order), fire timers and reminders.

The store provides the lock: on SQLite the one process is the leader; on PostgreSQL a session
advisory lock on a connection of its own, which the server releases when that connection ends, so a
worker killed with -9 hands over within LEADER_POLL_S of the server noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot import metrics

log = logging.getLogger(__name__)
POLL_S = 1.0


class LeaderLock(Protocol):
    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class Leadership:
    def __init__(
        self,
        lock: LeaderLock,
        worker: str,
        on_gain: Callable[[], Awaitable[None]],
        on_loss: Callable[[], Awaitable[None]],
    ):
        self.lock, self.worker, self.on_gain, self.on_loss = lock, worker, on_gain, on_loss
        self.leading = False
        self._stopping = asyncio.Event()

    async def try_lead(self) -> bool:
        """Lead if nobody does; True when this worker leads now."""
        if not self.leading and await self.lock.try_acquire():
            self.leading = True
            metrics.LEADER.labels(self.worker).set(1)
            log.warning("outage-bot: worker %s leads (long polls and connections, sending, timers)", self.worker)
            await self.on_gain()
        return self.leading

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self.leading and not await self.lock.still_held():
                    await self._step_down("its lock is gone (the database connection broke)")
                await self.try_lead()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), POLL_S)
        finally:
            if self.leading:
                await self._step_down("stopping")
            await self.lock.release()

    async def _step_down(self, why: str) -> None:
        self.leading = False
        metrics.LEADER.labels(self.worker).set(0)
        log.warning("outage-bot: worker %s no longer leads: %s", self.worker, why)
        await self.on_loss()

    def stop(self) -> None:
        self._stopping.set()


class AlwaysLeader:
    """One process on its own database (SQLite: the process lock makes sure)."""

    async def try_acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        return None
