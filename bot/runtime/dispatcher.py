"""Inbox → engine → one committed turn (state, outbox, timers, log)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
import weakref
from collections.abc import Awaitable, Callable

from bot import metrics
from bot.engine.machine import step
from bot.engine.types import (
    CancelTimer,
    Context,
    ConversationKey,
    ConversationState,
    Feedback,
    Forget,
    Inbound,
    RememberRegion,
    Reply,
    RequestHandover,
    SaveRecord,
    SetTimer,
)
from bot.playbook.catalog import Catalog
from bot.runtime.clock import Clock
from bot.store.base import InboxRow, OutboundMessage, Store, Turn

log = logging.getLogger(__name__)
SORRY = {
    "zh": "抱歉，处理这条消息时出错了，已记录下来。请再试一次，或发送 /restart 重新开始。",
    "en": "Sorry, something went wrong with that message; it has been logged. Try again, or send /restart.",
}

ContextFor = Callable[[ConversationKey], Context | Awaitable[Context]]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        context_for: ContextFor,
        clock: Clock,
    ):
        self.store, self.catalog, self.context_for, self.clock = store, catalog, context_for, clock
        self.ops = None  # bot.runtime.ops.Operations, set by the app: commands that act on operations
        self.handover = None  # bot.runtime.handover.Handover, set by the app
        self.catalog_lang = "zh"  # language for operations replies to users who chose none
        # one lock per conversation being processed; weak, so idle conversations cost nothing
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def submit(self, channel: str, dedupe_key: str, inbound: Inbound) -> int | None:
        """Persist an inbound message; returns its inbox id, or None for a duplicate delivery."""
        inbox_id = await self.store.accept(channel, dedupe_key, inbound)
        (metrics.MESSAGES_IN if inbox_id is not None else metrics.DUPLICATES).labels(channel).inc()
        return inbox_id

    async def process(self, row: InboxRow) -> None:
        """Run one inbox row through the engine and commit the result (one conversation at a time)."""
        key = row.inbound.key
        lock = self._locks.get(str(key))
        if lock is None:
            lock = self._locks[str(key)] = asyncio.Lock()
        with metrics.PROCESSING.time():
            await self._process_locked(row, key, lock)

    async def _process_locked(self, row: InboxRow, key: ConversationKey, lock: asyncio.Lock) -> None:
        async with lock:
            state = await self.store.load(key) or ConversationState()
            now = self.clock.now()
            if self.ops is not None and self.ops.handles(row.inbound):
                await self._operate(row, state, now)
                return
            if self.handover is not None and self.handover.available and await self._hand_over(row, state, now):
                return
            context = self.context_for(key)
            if inspect.isawaitable(context):
                context = await context
            new_state, effects = step(self.catalog, state, row.inbound, context, now)
            replies = [e for e in effects if isinstance(e, Reply)]
            async with self.store.transaction():
                outbound = self._outbound(key, replies, row.inbound.ref)
                for effect in effects:
                    if isinstance(effect, RequestHandover):
                        outbound += await self.handover.open(key, effect.summary, now)
                turn = Turn(
                    inbox_id=row.id,
                    key=key,
                    state=new_state,
                    outbound=outbound,
                    timers=[(e.name, e.due, dict(e.payload)) for e in effects if isinstance(e, SetTimer)],
                    cancel_timers=[e.name for e in effects if isinstance(e, CancelTimer)],
                    log_in=row.inbound.text or row.inbound.choice,
                    log_out=[r.text for r in replies],
                    records=[
                        (e.number, e.amount, e.issued_on, e.counterparty) for e in effects if isinstance(e, SaveRecord)
                    ],
                    region=next((e.region for e in effects if isinstance(e, RememberRegion)), None),
                    feedback=[
                        (e.symptom, e.cause, e.outcome, e.done, e.skipped) for e in effects if isinstance(e, Feedback)
                    ],
                    forget=any(isinstance(e, Forget) for e in effects),
                )
                await self.store.commit(turn, now)

    async def _hand_over(self, row: InboxRow, state: ConversationState, now) -> bool:
        """Support work, or a user whose case is with a person: relay instead of diagnosing."""
        inbound = row.inbound
        async with self.store.transaction():
            messages = None
            if self.handover.is_agent(inbound):
                messages = await self.handover.from_agent(inbound)
            if messages is None:
                case = await self.handover.active_case(inbound.key)
                if case is None:
                    return False
                messages = await self.handover.from_user(case, inbound)
            await self._commit_unchanged(row, state, messages, now)
        return True

    async def _operate(self, row: InboxRow, state: ConversationState, now) -> None:
        """An operations command: its writes, its reply and the inbox row done, in one transaction."""
        lang = self._lang(state, row.inbound)
        async with self.store.transaction():
            texts = await self.ops.handle(row.inbound, lang)
            replies = [Reply(text, (), state.node, state.symptom, lang=lang) for text in texts]
            await self._commit_unchanged(row, state, self._outbound(row.inbound.key, replies, row.inbound.ref), now)

    async def _commit_unchanged(
        self, row: InboxRow, state: ConversationState, messages: list[OutboundMessage], now
    ) -> None:
        """Messages out and the inbox row done, the conversation left as it was."""
        turn = Turn(
            row.id,
            row.inbound.key,
            state,
            messages,
            log_in=row.inbound.text or row.inbound.choice,
            log_out=[m.payload["text"] for m in messages],
        )
        await self.store.commit(turn, now)

    def _lang(self, state: ConversationState, inbound: Inbound) -> str:
        """The language the user chose, else their platform's, else the bot's."""
        return state.lang or inbound.lang_hint or self.catalog_lang

    def _outbound(self, key: ConversationKey, replies: list[Reply], ref: str | None) -> list[OutboundMessage]:
        return [
            OutboundMessage(key.channel, key.chat, reply.to_dict() | {"user": key.user, "in_reply_to": ref}, str(key))
            for reply in replies
        ]

    async def drain(self) -> int:
        """Process every unfinished inbox row (after a restart, or after submits); returns how many."""
        done = 0
        while rows := await self.store.unfinished():
            for row in rows:
                try:
                    await self.process(row)
                except sqlite3.Error:
                    raise  # the database itself is in trouble: stop, restart, replay
                except Exception:
                    # a bug must not make one message poison the inbox (retried forever, blocking none
                    # else but filling the log): apologise, keep the conversation as it was, move on
                    log.exception(
                        "processing inbox row %s failed",
                        row.id,
                        extra={
                            "conversation": str(row.inbound.key),
                            "message_id": row.dedupe_key,
                            "channel": row.channel,
                        },
                    )
                    await self._apologise(row)
                done += 1
        return done

    async def _apologise(self, row: InboxRow) -> None:
        state = await self.store.load(row.inbound.key) or ConversationState()
        lang = self._lang(state, row.inbound)
        reply = Reply(SORRY.get(lang, SORRY["zh"]), (), state.node, state.symptom, lang=lang)
        await self._commit_unchanged(
            row, state, self._outbound(row.inbound.key, [reply], row.inbound.ref), self.clock.now()
        )
