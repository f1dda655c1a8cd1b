"""Outbox → a channel: one message per chat at a time, in order, retried until delivered."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from bot import metrics
from bot.channels.delivery import RetryLater, Undeliverable
from bot.runtime.clock import Clock
from bot.runtime.group_commit import GroupCommit
from bot.runtime.wake import Loop
from bot.store.base import Failed, OutboundMessage, OutboxRow, Retry, Sent, Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # unexpected errors back off 2, 4, 8 … 300 s; after this many the row is set aside
CONCURRENT_CHATS = 32


class Deliverer(Protocol):
    name: str

    async def deliver(self, message: OutboundMessage) -> str | None:
        """Send one message and return the platform's id for it (if any); raise RetryLater or
        Undeliverable when it isn't delivered."""


class Sender(Loop):
    def __init__(self, store: Store, clock: Clock, channel: Deliverer):
        super().__init__()
        self.store, self.clock, self.channel = store, clock, channel
        self._slots = asyncio.Semaphore(CONCURRENT_CHATS)
        self._settling = GroupCommit(self._settle)
        # outcomes of sends the database could not record yet: recorded first when it takes writes
        # again, and their rows are not sent a second time meanwhile
        self._unsettled: list[Sent | Retry | Failed] = []

    async def tick(self) -> int:
        return await self.flush()

    async def flush(self) -> int:
        """Deliver the head-of-line message of every chat that has one due; returns how many were tried."""
        if self._unsettled:
            outcomes, self._unsettled = self._unsettled, []
            await self._settle(outcomes)
            if self._unsettled:
                return 0  # still failing: the loop backs off
        rows = await self.store.pending(self.channel.name, self.clock.now(), limit=CONCURRENT_CHATS * 4)
        await asyncio.gather(*(self._deliver_and_record(row) for row in rows))
        return len(rows)

    async def _deliver_and_record(self, row: OutboxRow) -> None:
        # recorded as soon as it is known (a crash before that repeats the send), together with
        # whatever other sends finished meanwhile (group commit)
        await self._settling.add(await self._deliver(row))

    async def _settle(self, outcomes: Sequence[Sent | Retry | Failed]) -> list[None]:
        try:
            await self.store.settle(outcomes, self.clock.now())
        except sqlite3.Error:
            self._unsettled.extend(outcomes)  # the store's health has logged it
        return [None] * len(outcomes)

    async def _deliver(self, row: OutboxRow) -> Sent | Retry | Failed:
        async with self._slots:
            try:
                sent_ref = await self.channel.deliver(row.message)
            except RetryLater as exc:
                metrics.RATE_LIMIT_WAITS.labels(self.channel.name).inc()
                metrics.SEND_ERRORS.labels(self.channel.name, "retry").inc()
                log.info(
                    "%s: chat %s must wait %.1fs: %s", self.channel.name, row.message.chat, exc.seconds, exc.reason
                )
                return Retry(row.id, self.clock.now() + timedelta(seconds=exc.seconds), exc.reason)
            except Undeliverable as exc:
                metrics.SEND_ERRORS.labels(self.channel.name, "undeliverable").inc()
                log.warning("%s: giving up on outbox row %s: %s", self.channel.name, row.id, exc)
                return Failed(row.id, str(exc))
            except Exception as exc:
                metrics.SEND_ERRORS.labels(self.channel.name, "error").inc()
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    log.error("%s: outbox row %s failed %d times: %s", self.channel.name, row.id, MAX_ATTEMPTS, exc)
                    return Failed(row.id, repr(exc))
                delay = min(300.0, 2.0 ** (row.attempts + 1))
                log.warning("%s: send failed (%r); retrying in %.0fs", self.channel.name, exc, delay)
                return Retry(row.id, self.clock.now() + timedelta(seconds=delay), repr(exc))
            metrics.MESSAGES_OUT.labels(self.channel.name).inc()
            # a case message stays, with the platform's id for it: replies to it find the case
            return Sent(row.id, sent_ref, keep=row.message.payload.get("case_id") is not None)
