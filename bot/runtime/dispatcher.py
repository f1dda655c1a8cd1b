"""Inbox → engine → one committed turn (state, outbox, timers, log)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from bot.engine.machine import step
from bot.engine.types import CancelTimer, Context, ConversationKey, Inbound, Reply, SetTimer
from bot.playbook.catalog import Catalog
from bot.runtime.clock import Clock
from bot.store.base import InboxRow, OutboundMessage, Store, Turn

log = logging.getLogger(__name__)

ContextFor = Callable[[ConversationKey], Context]
# A channel may cut one reply into several platform messages (length limits); each becomes its own
# outbox row, so a retry never repeats a part that was already delivered.
Splitter = Callable[[dict[str, Any]], list[dict[str, Any]]]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        context_for: ContextFor,
        clock: Clock,
        splitters: dict[str, Splitter] | None = None,
    ):
        self.store, self.catalog, self.context_for, self.clock = store, catalog, context_for, clock
        self.splitters = splitters or {}
        # one lock per conversation being processed; weak, so idle conversations cost nothing
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def submit(self, channel: str, dedupe_key: str, inbound: Inbound) -> int | None:
        """Persist an inbound message; returns its inbox id, or None for a duplicate delivery."""
        return await self.store.accept(channel, dedupe_key, inbound)

    async def process(self, row: InboxRow) -> None:
        """Run one inbox row through the engine and commit the result (one conversation at a time)."""
        key = row.inbound.key
        lock = self._locks.get(str(key))
        if lock is None:
            lock = self._locks[str(key)] = asyncio.Lock()
        async with lock:
            state = await self.store.load(key)
            now = self.clock.now()
            new_state, effects = step(self.catalog, state, row.inbound, self.context_for(key), now)
            replies = [e for e in effects if isinstance(e, Reply)]
            turn = Turn(
                inbox_id=row.id,
                key=key,
                state=new_state,
                outbound=self._outbound(key, replies, row.inbound.ref),
                timers=[(e.name, e.due, dict(e.payload)) for e in effects if isinstance(e, SetTimer)],
                cancel_timers=[e.name for e in effects if isinstance(e, CancelTimer)],
                log_in=row.inbound.text or row.inbound.choice,
                log_out=[r.text for r in replies],
            )
            await self.store.commit(turn, now)

    def _outbound(self, key: ConversationKey, replies: list[Reply], ref: str | None) -> list[OutboundMessage]:
        split = self.splitters.get(key.channel, lambda payload: [payload])
        messages = []
        for reply in replies:
            payload = reply.to_dict() | {"user": key.user, "in_reply_to": ref}
            messages.extend(OutboundMessage(key.channel, key.chat, part, str(key)) for part in split(payload))
        return messages

    async def drain(self) -> int:
        """Process every unfinished inbox row (after a restart, or after submits); returns how many."""
        done = 0
        while rows := await self.store.unfinished():
            for row in rows:
                await self.process(row)
                done += 1
        return done
