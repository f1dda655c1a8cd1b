"""Outbox → a channel: one message per chat at a time, in order, retried until delivered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from bot import metrics
from bot.delivery import MaybeDelivered, RetryLater, Undeliverable, to_group
from bot.runtime.clock import Clock
from bot.runtime.group_commit import GroupCommit
from bot.runtime.wake import Loop
from bot.store.base import Failed, OutboundMessage, OutboxRow, Retry, Sent, Store
from bot.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)

MERGE_MAX_BYTES = 1800  # a merged relay stays one message on every platform (WeCom: 2048 bytes)
MERGE_MAX_ROWS = 100
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
        self._recovered = False

    async def tick(self) -> int:
        return await self.flush()

    async def flush(self) -> int:
        """Deliver the head-of-line message of every chat that has one due; returns how many were tried."""
        if not self._recovered:
            # group sends a previous run had in flight when it died may have arrived: not repeated
            await self.store.set_aside_interrupted(self.channel.name, self.clock.now())
            self._recovered = True
        if self._unsettled:
            outcomes, self._unsettled = self._unsettled, []
            await self._settle(outcomes)
            if self._unsettled:
                return 0  # still failing: the loop backs off
        rows = await self.store.pending(self.channel.name, self.clock.now(), limit=CONCURRENT_CHATS * 4)
        if groups := [row.id for row in rows if to_group(row.message.chat)]:
            await self.store.mark_in_flight(groups, self.clock.now())  # before the call: a crash can tell
        await asyncio.gather(*(self._deliver_and_record(row) for row in rows))
        return len(rows)

    async def _deliver_and_record(self, row: OutboxRow) -> None:
        # recorded as soon as it is known (a crash before that repeats the send), together with
        # whatever other sends finished meanwhile (group commit)
        row, merged = await self._merged(row)
        outcome = await self._deliver(row)
        if not merged:  # nearly always: no task for a gather of one
            await self._settling.add(outcome)
            return
        await asyncio.gather(*(self._settling.add(o) for o in (outcome, *_same_outcome(outcome, merged))))

    async def _merged(self, row: OutboxRow) -> tuple[OutboxRow, list[int]]:
        """A relay to support (payload "merge": its case) goes out together with the case's other
        relays waiting for the same chat, as one message up to MERGE_MAX_BYTES: a user who writes
        300 messages takes one turn of the support chat's rate limit, not 300."""
        payload = row.message.payload
        tag = payload.get("merge")
        if not tag:
            return row, []
        field = "content" if "content" in payload else "text"
        text, merged = str(payload.get(field, "")), []
        size = len(text.encode())
        waiting = await self.store.unsent_tagged(self.channel.name, row.message.chat, tag, row.id, MERGE_MAX_ROWS)
        for other in waiting:
            more = "\n" + str(other.message.payload.get(field, ""))
            if size + len(more.encode()) > MERGE_MAX_BYTES:
                break
            text, size = text + more, size + len(more.encode())
            merged.append(other.id)
        if not merged:
            return row, []
        message = replace(row.message, payload={**payload, field: text})
        return replace(row, message=message), merged

    async def _settle(self, outcomes: Sequence[Sent | Retry | Failed]) -> list[None]:
        try:
            await self.store.settle(outcomes, self.clock.now())
        except STORE_ERRORS:
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
            except MaybeDelivered as exc:
                metrics.SEND_ERRORS.labels(self.channel.name, "maybe_delivered").inc()
                if to_group(row.message.chat):  # no duplicate check there: once is the most we risk
                    log.warning("%s: %s may have been delivered (%s); not repeated", self.channel.name,
                                row.message.chat, exc)  # fmt: skip
                    return Failed(row.id, f"may have been delivered, not repeated: {exc}")
                delay = min(300.0, 2.0 ** (row.attempts + 1))
                return Retry(row.id, self.clock.now() + timedelta(seconds=delay), str(exc))
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


def _same_outcome(outcome: Sent | Retry | Failed, ids: list[int]) -> list[Sent | Retry | Failed]:
    """Rows merged into a delivered message share its fate; if it wasn't delivered they stay queued."""
    return [replace(outcome, id=i) for i in ids] if isinstance(outcome, (Sent, Failed)) else []
