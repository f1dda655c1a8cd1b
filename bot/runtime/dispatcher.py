"""Inbox → engine → one committed turn (state, outbox, timers, log)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

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
    Reported,
    RequestHandover,
    SaveRecord,
    SetTimer,
    Subscribe,
)
from bot.playbook.catalog import Catalog
from bot.runtime.attachments import Attachments, pending
from bot.runtime.clock import Clock
from bot.runtime.group_commit import GroupCommit
from bot.store.base import ClaimLost, InboxRow, OutboundMessage, Store, Turn
from bot.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)
SORRY = {
    "zh": "抱歉，处理这条消息时出错了，已记录下来（错误编号 {id}）。请再试一次，或发送 /restart 重新开始。",
    "en": "Sorry, something went wrong with that message; it has been logged (error {id}). "
    "Try again, or send /restart.",
}

BATCH = 200  # inbox rows per batch: one load, one commit
CLAIM_RENEW_S = 5.0  # while a file is read: well within a claim's lease (15 s on PostgreSQL)
INLINE_TEXT_MAX = 300  # characters: a longer message is read in a worker thread (a few ms at this length)
# engine turns in a row before webhooks get the loop: short enough for acks, long enough not to
# pay a loop iteration per turn (one turn is ~0.1 ms)
YIELD_EVERY_S = 0.002
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
        self.ops = None  # bot.features.commands.Operations, set by the app: commands that act on operations
        self.handover = None  # bot.features.handover.Handover, set by the app
        self.attachments = Attachments()  # photos and files: the app gives it a reader, channels their fetch
        self.catalog_lang = "zh"  # language for operations replies to users who chose none
        self._accepting = GroupCommit(store.accept_many)
        self._draining = asyncio.Lock()  # one pass over the inbox at a time: each row is processed once
        self.on_batch: Callable[[], None] = lambda: None  # wakes the senders (the worker sets it)
        self._yielded = 0.0  # when the engine last let the loop run others

    async def submit(self, channel: str, dedupe_key: str, inbound: Inbound) -> int | None:
        """Persist an inbound message; returns its inbox id, or None for a duplicate delivery.
        Messages submitted together are committed together (group commit)."""
        inbox_id = await self._accepting.add((channel, dedupe_key, inbound))
        (metrics.MESSAGES_IN if inbox_id is not None else metrics.DUPLICATES).labels(channel).inc()
        return inbox_id

    async def drain(self) -> int:
        """Process every unfinished inbox row (after a restart, or after submits); returns how many."""
        done = 0
        async with self._draining:
            while rows := await self.store.claim(limit=BATCH):
                try:
                    done += await self._run_batch(rows)
                    self.on_batch()  # its replies may go now, while the next batch is worked on
                except ClaimLost as exc:  # another worker took these conversations over
                    log.warning("worker: %s; its turns stand, this one's are rolled back", exc)
                finally:  # a lease not released (the database failing) runs out by itself
                    with contextlib.suppress(*STORE_ERRORS):
                        await self.store.release_claims()
        return done

    async def _run_batch(self, rows: list[InboxRow]) -> int:
        """Plain conversation turns go through the engine one after another and are committed in one
        transaction. At the first row that needs more (an operations command, support work, a case
        being opened, forgetting a user, an error) the turns so far are committed and that row is
        processed on its own; the rows after it come back in the next batch. Returns rows done."""
        started = time.perf_counter()
        states = await self.store.load_many([row.inbound.key for row in rows])
        with_case = await self._with_open_case(rows)
        now = self.clock.now()
        turns: list[Turn] = []
        for row in rows:
            key = row.inbound.key
            if self._needs_own_turn(row, with_case):
                break
            try:
                state = states.get(str(key)) or ConversationState()
                new_state, effects = await self._step(state, row.inbound, await self._context(key), now)
            except Exception:
                break  # processed on its own below, where a failure is logged and apologised for
            if any(isinstance(e, (RequestHandover, Forget)) for e in effects):
                break
            turns.append(self._turn(row, key, new_state, effects, []))
            states[str(key)] = new_state
        if turns:
            await self.store.commit_many(turns, now)
            metrics.PROCESSING.observe((time.perf_counter() - started) / len(turns))
        if len(turns) == len(rows):
            return len(turns)
        await self._process_alone(rows[len(turns)])
        return len(turns) + 1

    async def _step(self, state: ConversationState, inbound: Inbound, context: Context, now: datetime):
        """One engine turn. A long message takes tens of milliseconds to read (90 ms at 4,096
        characters): it is read in a worker thread, so the event loop keeps acknowledging webhooks.
        Short ones are read in place, and the loop gets its turn at least every YIELD_EVERY_S."""
        if inbound.text is not None and len(inbound.text) > INLINE_TEXT_MAX:
            return await asyncio.to_thread(step, self.catalog, state, inbound, context, now)
        if time.perf_counter() - self._yielded > YIELD_EVERY_S:
            await asyncio.sleep(0)
            self._yielded = time.perf_counter()
        return step(self.catalog, state, inbound, context, now)

    def _needs_own_turn(self, row: InboxRow, with_case: set[str]) -> bool:
        if pending(row.inbound) or (self.ops is not None and self.ops.handles(row.inbound)):
            return True  # a file is read outside the batch's transaction; operations commit their own
        handover = self.handover
        return (
            handover is not None
            and handover.available
            and (handover.is_agent(row.inbound) or str(row.inbound.key) in with_case)
        )

    async def _with_open_case(self, rows: list[InboxRow]) -> set[str]:
        if self.handover is None or not self.handover.available:
            return set()
        return await self.store.conversations_with_open_case([str(row.inbound.key) for row in rows])

    async def _context(self, key: ConversationKey) -> Context:
        context = self.context_for(key)
        return await context if inspect.isawaitable(context) else context

    def _turn(
        self, row: InboxRow, key: ConversationKey, state: ConversationState, effects, extra: list[OutboundMessage]
    ) -> Turn:
        by_kind: dict[type, list] = {}
        for effect in effects:  # one pass: most turns have a reply and nothing else
            by_kind.setdefault(type(effect), []).append(effect)
        replies = by_kind.get(Reply, [])
        region = by_kind.get(RememberRegion)
        subscription = by_kind.get(Subscribe)
        return Turn(
            inbox_id=row.id,
            key=key,
            state=state,
            outbound=self._outbound(key, replies, row.inbound.ref) + extra,
            timers=[(e.name, e.due, dict(e.payload)) for e in by_kind.get(SetTimer, ())],
            cancel_timers=[e.name for e in by_kind.get(CancelTimer, ())],
            said=row.inbound.text or row.inbound.choice,
            answer=" ".join(dict.fromkeys(f"→{r.node}" for r in replies)) or None,
            records=[(e.number, e.amount, e.issued_on, e.counterparty) for e in by_kind.get(SaveRecord, ())],
            region=region[0].region if region else None,
            feedback=[(e.symptom, e.cause, e.outcome, e.done, e.skipped) for e in by_kind.get(Feedback, ())],
            reports=[(e.symptom, e.said) for e in by_kind.get(Reported, ())],
            subscription=(subscription[0].components, subscription[0].region) if subscription else None,
            forget=Forget in by_kind,
        )

    async def _process_alone(self, row: InboxRow) -> None:
        try:
            await self.process(row)
        except (*STORE_ERRORS, ClaimLost):
            raise  # the database itself is in trouble (stop, restart, replay), or another worker has it
        except Exception:
            # a bug must not make one message poison the inbox (retried forever, blocking none
            # else but filling the log): apologise, keep the conversation as it was, move on
            error = f"E{row.id}"  # said in the chat and in the log line, so the two can be matched
            log.exception(
                "processing inbox row %s failed (error %s)",
                row.id,
                error,
                extra={"conversation": str(row.inbound.key), "message_id": row.dedupe_key, "channel": row.channel},
            )
            await self._apologise(row, error)

    async def process(self, row: InboxRow) -> None:
        """Run one inbox row through the engine (or operations, or support) and commit the result."""
        key = row.inbound.key
        if pending(row.inbound):  # downloaded and read first, outside the processing time
            row = dataclasses.replace(row, inbound=await self._read_attachment(row))
        with metrics.PROCESSING.time():
            state = await self.store.load(key) or ConversationState()
            now = self.clock.now()
            if self.ops is not None and self.ops.handles(row.inbound):
                await self._operate(row, state, now)
                return
            if self.handover is not None and self.handover.available and await self._hand_over(row, state, now):
                return
            new_state, effects = await self._step(state, row.inbound, await self._context(key), now)
            async with self.store.transaction():
                extra = []
                for effect in effects:
                    if isinstance(effect, RequestHandover):
                        extra += await self.handover.open(key, effect.summary, now)
                await self.store.commit(self._turn(row, key, new_state, effects, extra), now)

    async def _read_attachment(self, row: InboxRow) -> Inbound:
        """Download and read a photo or file, the conversation's claim renewed meanwhile: reading
        may take longer than a claim lasts, and another worker must not take the conversation."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(CLAIM_RENEW_S)
                with contextlib.suppress(*STORE_ERRORS):
                    await self.store.extend_claims()

        renewing = asyncio.create_task(renew())
        try:
            return await self.attachments.resolve(row.channel, row.inbound)
        finally:
            renewing.cancel()

    async def _hand_over(self, row: InboxRow, state: ConversationState, now) -> bool:
        """Support work, or a user whose case is with a person: relay instead of diagnosing. False
        when the engine should answer (no case, or the user left the queue to start over)."""
        inbound = row.inbound
        async with self.store.transaction():
            messages = None
            if self.handover.is_agent(inbound):
                messages = await self.handover.from_agent(inbound)
            if messages is None:
                case = await self.handover.active_case(inbound.key)
                if case is None:
                    return False
                messages = await self.handover.from_user(case, inbound, self._lang(state, inbound), now)
                if messages is None:
                    return False
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
            said=row.inbound.text or row.inbound.choice,
            answer="\n\n".join(m.payload["text"] for m in messages) or None,
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

    async def _apologise(self, row: InboxRow, error: str) -> None:
        state = await self.store.load(row.inbound.key) or ConversationState()
        lang = self._lang(state, row.inbound)
        reply = Reply(SORRY.get(lang, SORRY["zh"]).format(id=error), (), state.node, state.symptom, lang=lang)
        await self._commit_unchanged(
            row, state, self._outbound(row.inbound.key, [reply], row.inbound.ref), self.clock.now()
        )
