"""The store's statements, shared by the SQLite and PostgreSQL backends.

A backend gives a connection with `execute`, `execute_fetchall` and `executemany` (SQLite's, or the
PostgreSQL adapter that speaks the same SQL), `transaction()`, and `DUPLICATE`, the error a unique
constraint raises. Everything else here is the same on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Self

from bot.engine.types import ConversationKey, ConversationState, Inbound
from bot.redact import redact_urls
from bot.store.base import (
    ClaimLost,
    Failed,
    Group,
    GroupExists,
    InboxRow,
    OutboundMessage,
    OutboxRow,
    Retry,
    Sent,
    Subscription,
    TimerRow,
    Turn,
)
from bot.store.codec import decode_inbound, dumps, encode_inbound, from_epoch, loads, to_epoch
from bot.store.sql_cases import CasesMixin
from bot.store.sql_ops import OperationsMixin

ACCEPT_CHUNK = 500  # rows per multi-row INSERT: 5 parameters each, well under SQLite's 32,766
LOAD_CHUNK = 500
COUNTED_TABLES = (
    "conversations", "inbox", "outbox", "timers", "transcript", "seen", "reminders", "records", "outages",
    "groups", "profiles",
)  # fmt: skip


def _chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class SqlStore(OperationsMixin, CasesMixin):
    DUPLICATE: type[Exception] | tuple[type[Exception], ...] = ()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _insert(self, sql: str, params: Sequence) -> int:
        """One INSERT in its own transaction; the new row's id."""
        async with self.transaction() as db:
            return (await db.execute_fetchall(sql + " RETURNING id", params))[0][0]

    async def accept(self, channel: str, dedupe_key: str, inbound: Inbound) -> int | None:
        return (await self.accept_many([(channel, dedupe_key, inbound)]))[0]

    async def accept_many(self, messages: Sequence[tuple[str, str, Inbound]]) -> list[int | None]:
        """Record inbound messages in one transaction; each gets its inbox id, or None when its
        (channel, dedupe_key) was seen before (in an earlier call or earlier in this one)."""
        fresh: list[tuple[str, str, Inbound]] = []
        async with self.transaction() as db:
            for chunk in _chunks(messages, ACCEPT_CHUNK):
                rows = await db.execute_fetchall(
                    "INSERT INTO seen (channel, dedupe_key, at) VALUES "
                    + ", ".join(["(?, ?, ?)"] * len(chunk))
                    + " ON CONFLICT DO NOTHING RETURNING channel, dedupe_key",
                    [value for channel, dedupe, inbound in chunk for value in (channel, dedupe, to_epoch(inbound.at))],
                )
                new = {(r[0], r[1]) for r in rows}
                for channel, dedupe, inbound in chunk:
                    if (channel, dedupe) in new:
                        new.discard((channel, dedupe))  # a key given twice in one call: the first one
                        fresh.append((channel, dedupe, inbound))
            inserted: dict[tuple[str, str], int] = {}
            for chunk in _chunks(fresh, ACCEPT_CHUNK):
                rows = await db.execute_fetchall(
                    "INSERT INTO inbox (channel, dedupe_key, conversation, inbound, received_at) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
                    + " RETURNING id, channel, dedupe_key",
                    [
                        value
                        for channel, dedupe, inbound in chunk
                        for value in (channel, dedupe, str(inbound.key), encode_inbound(inbound), to_epoch(inbound.at))
                    ],
                )
                inserted.update(((r[1], r[2]), r[0]) for r in rows)
        return [inserted.pop((channel, dedupe), None) for channel, dedupe, _ in messages]

    async def claim(self, limit: int = 100) -> list[InboxRow]:
        """Inbox rows to process now, oldest first. One process per database: all of them."""
        return await self.unfinished(limit)

    async def release_claims(self) -> None:
        """Done with what claim() gave (nothing to release when one process owns the database)."""

    async def extend_claims(self) -> None:
        """Still working on what claim() gave (a file being read): keep it from other workers."""

    worker = "main"  # one process per database: it is the worker

    async def _outbox_changed(self, db) -> None:
        """Within the transaction that queued messages: tell the sender (one process: it is woken directly)."""

    async def watch_outbox(self, wake) -> None:
        """Call `wake()` when another process queues messages (one process per SQLite file: none does
        but the CLI, which the sender's one-second poll picks up)."""

    async def unwatch_outbox(self) -> None:
        """Stop calling what watch_outbox() was given."""

    def leader_lock(self):
        """What elects the one worker that sends and holds long connections: this process."""
        from bot.runtime.leadership import AlwaysLeader

        return AlwaysLeader()

    async def unfinished(self, limit: int = 100) -> list[InboxRow]:
        rows = await self.db.execute_fetchall(
            "SELECT id, channel, dedupe_key, inbound FROM inbox ORDER BY id LIMIT ?", (limit,)
        )
        return [InboxRow(r[0], r[1], r[2], decode_inbound(r[3])) for r in rows]

    # ---- conversations -----------------------------------------------------------------------

    async def load(self, key: ConversationKey) -> ConversationState | None:
        return (await self.load_many([key])).get(str(key))

    async def load_many(self, keys: Sequence[ConversationKey]) -> dict[str, ConversationState]:
        """The stored state of each of these conversations that has one, by str(key)."""
        names = list({str(key) for key in keys})
        found: dict[str, ConversationState] = {}
        for chunk in _chunks(names, LOAD_CHUNK):
            rows = await self.db.execute_fetchall(
                f"SELECT key, state FROM conversations WHERE key IN ({', '.join('?' * len(chunk))})", chunk
            )
            found.update((r[0], ConversationState.from_dict(loads(r[1]))) for r in rows)
        return found

    async def commit(self, turn: Turn, now: datetime) -> None:
        await self.commit_many([turn], now)

    async def commit_many(self, turns: Sequence[Turn], now: datetime) -> None:
        """Processed inbox rows, in one transaction: states, outbox, timers, log, inbox rows done.
        Several turns of one conversation are applied in order (the last state wins)."""
        at = to_epoch(now)
        async with self.transaction() as db:
            for turn in turns:
                if turn.forget:  # before the fresh state is written
                    await self.forget_user(turn.key.channel, turn.key.user)
            await db.executemany(
                "INSERT INTO conversations (key, channel, chat, user, state, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                [(str(t.key), t.key.channel, t.key.chat, t.key.user, dumps(t.state.to_dict()), at) for t in turns],
            )
            await self.enqueue([m for t in turns for m in t.outbound], now)
            for t in turns:  # turn by turn: a later turn may cancel a timer an earlier one set
                if t.cancel_timers:
                    await db.executemany(
                        "DELETE FROM timers WHERE conversation = ? AND name = ? AND fired_at IS NULL",
                        [(str(t.key), name) for name in t.cancel_timers],
                    )
                if t.timers:
                    await db.executemany(
                        "INSERT INTO timers (conversation, name, due_at, payload) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (conversation, name) DO UPDATE SET due_at = excluded.due_at, "
                        "payload = excluded.payload, fired_at = NULL",
                        [(str(t.key), name, to_epoch(due), dumps(payload)) for name, due, payload in t.timers],
                    )
            await db.executemany(
                "INSERT INTO transcript (conversation, at, said, answer) VALUES (?, ?, ?, ?)",
                [(str(t.key), at, t.said, t.answer) for t in turns if t.said or t.answer],
            )
            for t in turns:
                user = f"{t.key.channel}:{t.key.user}"
                for symptom, cause, outcome, done, skipped in t.feedback:
                    await self.add_feedback(str(t.key), t.key.channel, symptom, cause, outcome, done, skipped, now)
                for number, amount, issued_on, counterparty in t.records:
                    await self.add_record(user, number, amount, issued_on, counterparty, now)
                if t.region:
                    await self.set_region(user, t.region, now)
                if t.subscription is not None:
                    parts, region = t.subscription
                    wanted = Subscription(user, t.key.channel, t.key.chat, parts, region)
                    await self.subscribe_person(wanted, now)
            reports = [
                (at, f"{t.key.channel}:{t.key.user}", symptom, said) for t in turns for symptom, said in t.reports
            ]
            if reports:
                await db.executemany("INSERT INTO reports (at, user, symptom, said) VALUES (?, ?, ?, ?)", reports)
            # done: the message goes; its dedupe key stays in `seen` until the retention purge. A row
            # already gone was processed by another worker that took over the conversation: then
            # nothing of this transaction may count
            ids = [t.inbox_id for t in turns]
            gone = 0
            for chunk in _chunks(ids, LOAD_CHUNK):
                marks = ", ".join("?" * len(chunk))
                gone += len(await db.execute_fetchall(f"DELETE FROM inbox WHERE id IN ({marks}) RETURNING id", chunk))
            if gone != len(set(ids)):
                raise ClaimLost(f"{len(set(ids)) - gone} message(s) were processed by another worker")

    # ---- outbox ------------------------------------------------------------------------------

    async def pending(self, channel: str, now: datetime, limit: int = 100, chat: str | None = None) -> list[OutboxRow]:
        # The oldest unsent message of each chat, if it is due: a message waiting out a rate limit
        # holds back the ones after it, so every chat receives its messages in order.
        params: list = [channel, *([chat] if chat is not None else []), to_epoch(now), limit]
        # A chat's oldest row of priority (rare: a new case for support) goes first. The queue is walked
        # oldest first (outbox_queue) and the walk stops at `limit` heads; each row's test is two index
        # lookups (outbox_priority, outbox_pending): the cost follows the batch, not the queue's length
        # (unless most of the queue waits behind a few chats).
        chat_filter = "AND o.chat = ?" if chat is not None else ""
        rows = await self.db.execute_fetchall(
            "SELECT o.id, o.channel, o.chat, o.conversation, o.payload, o.attempts, o.created_at, o.priority "
            f"FROM outbox o WHERE o.channel = ? AND o.sent_at IS NULL AND o.failed_at IS NULL {chat_filter} "
            "AND o.next_attempt_at <= ? AND o.id = COALESCE("
            "  (SELECT MIN(p.id) FROM outbox p WHERE p.channel = o.channel AND p.chat = o.chat"
            "    AND p.priority > 0 AND p.sent_at IS NULL AND p.failed_at IS NULL),"
            "  (SELECT MIN(p.id) FROM outbox p WHERE p.channel = o.channel AND p.chat = o.chat"
            "    AND p.sent_at IS NULL AND p.failed_at IS NULL)"
            ") ORDER BY o.id LIMIT ?",
            params,
        )
        return [_outbox_row(r) for r in rows]

    async def unsent(self, channel: str, chat: str, limit: int = 100) -> list[OutboxRow]:
        """A chat's undelivered messages in order, due or not (a platform that is asked for them)."""
        rows = await self.db.execute_fetchall(
            "SELECT id, channel, chat, conversation, payload, attempts, created_at, priority FROM outbox "
            "WHERE channel = ? AND chat = ? AND sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT ?",
            (channel, chat, limit),
        )
        return [_outbox_row(r) for r in rows]

    async def unsent_tagged(self, channel: str, chat: str, tag: str, after: int, limit: int) -> list[OutboxRow]:
        rows = await self.db.execute_fetchall(
            "SELECT id, channel, chat, conversation, payload, attempts, created_at, priority FROM outbox "
            "WHERE channel = ? AND chat = ? AND id > ? AND sent_at IS NULL AND failed_at IS NULL "
            "AND json_extract(payload, '$.merge') = ? ORDER BY id LIMIT ?",
            (channel, chat, after, tag, limit),
        )
        return [_outbox_row(r) for r in rows]

    async def mark_sent(self, outbox_id: int, now: datetime, sent_ref: str | None = None, keep: bool = False) -> None:
        await self.settle([Sent(outbox_id, sent_ref, keep)], now)

    async def mark_retry(self, outbox_id: int, retry_at: datetime, error: str) -> None:
        await self.settle([Retry(outbox_id, retry_at, error)], retry_at)

    async def settle(self, outcomes: Sequence[Sent | Retry | Failed], now: datetime) -> None:
        """What became of sent messages, in one transaction. A sent message is deleted unless it must
        be kept (a case message, which replies find by its platform id)."""
        at = to_epoch(now)
        sent = [o for o in outcomes if isinstance(o, Sent)]
        statements = [
            ("DELETE FROM outbox WHERE id = ?", [(o.id,) for o in sent if not o.keep]),
            (
                "UPDATE outbox SET sent_at = ?, sent_ref = ?, attempts = attempts + 1 WHERE id = ?",
                [(at, o.ref, o.id) for o in sent if o.keep],
            ),
            (
                "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?, in_flight_at = NULL "
                "WHERE id = ?",
                [(to_epoch(o.at), redact_urls(o.error)[:500], o.id) for o in outcomes if isinstance(o, Retry)],
            ),
            (
                "UPDATE outbox SET failed_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(at, redact_urls(o.error)[:500], o.id) for o in outcomes if isinstance(o, Failed)],
            ),
        ]
        async with self.transaction() as db:
            for sql, rows in statements:
                if rows:  # each statement is a trip to the database's thread: none for nothing
                    await db.executemany(sql, rows)

    async def mark_in_flight(self, ids: Sequence[int], now: datetime) -> None:
        async with self.transaction() as db:
            await db.executemany("UPDATE outbox SET in_flight_at = ? WHERE id = ?", [(to_epoch(now), i) for i in ids])

    async def set_aside_interrupted(self, channel: str, now: datetime) -> int:
        """Sends to groups that were in flight when the process died: failed, not repeated."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET failed_at = ?, last_error = 'in flight when the bot stopped: not repeated' "
                "WHERE channel = ? AND in_flight_at IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL",
                (to_epoch(now), channel),
            )
            return cursor.rowcount

    async def enqueue(self, messages: Sequence[OutboundMessage], now: datetime) -> None:
        if not messages:
            return
        at = to_epoch(now)
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO outbox (channel, chat, conversation, payload, created_at, next_attempt_at, priority) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                # cut to each platform's message limits here, whatever put the message in the outbox
                [
                    (m.channel, m.chat, m.conversation, dumps(m.payload), at, at, m.priority)
                    for m in self.split(messages)
                ],
            )
            await self._outbox_changed(db)

    async def mark_failed(self, outbox_id: int, now: datetime, error: str) -> None:
        await self.settle([Failed(outbox_id, error)], now)

    # ---- groups ------------------------------------------------------------------------------

    async def add_group(self, group: Group, now: datetime) -> None:
        try:
            await self._write(
                "INSERT INTO groups (name, channel, kind, address, subscribed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (group.name, group.channel, group.kind, group.address, int(group.subscribed), to_epoch(now)),
            )
        except self.DUPLICATE as exc:
            raise GroupExists(str(exc)) from None

    async def remove_group(self, name: str) -> bool:
        cursor = await self._write("DELETE FROM groups WHERE name = ?", (name,))
        return cursor.rowcount == 1

    async def groups(self) -> list[Group]:
        return await self._groups("", ())

    async def group(self, name: str) -> Group | None:
        found = await self._groups("WHERE name = ?", (name,))  # the primary key
        return found[0] if found else None

    async def group_at(self, channel: str, address: str) -> Group | None:
        found = await self._groups("WHERE channel = ? AND address = ?", (channel, address))
        return found[0] if found else None

    async def _groups(self, where: str, params: Sequence) -> list[Group]:
        rows = await self.db.execute_fetchall(
            f"SELECT name, channel, kind, address, subscribed, created_at FROM groups {where} ORDER BY name", params
        )
        return [Group(r[0], r[1], r[2], r[3], bool(r[4]), from_epoch(r[5])) for r in rows]

    async def set_subscribed(self, name: str, subscribed: bool) -> None:
        await self._write("UPDATE groups SET subscribed = ? WHERE name = ?", (int(subscribed), name))

    # ---- timers ------------------------------------------------------------------------------

    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRow]:
        rows = await self.db.execute_fetchall(
            "SELECT id, conversation, name, due_at, payload FROM timers WHERE fired_at IS NULL AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (to_epoch(now), limit),
        )
        return [TimerRow(r[0], ConversationKey.parse(r[1]), r[2], from_epoch(r[3]), loads(r[4])) for r in rows]

    async def fire(self, timer: TimerRow, inbound: Inbound) -> int | None:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE timers SET fired_at = ? WHERE id = ? AND fired_at IS NULL", (to_epoch(inbound.at), timer.id)
            )
            if cursor.rowcount != 1:
                return None
            return await self.accept(timer.conversation.channel, f"timer:{timer.id}", inbound)

    # ---- for the CLI and tests ---------------------------------------------------------------

    async def count(self, table: str) -> int:
        if table not in COUNTED_TABLES:
            raise ValueError(f"unknown table {table}")
        (n,) = (await self.db.execute_fetchall(f"SELECT COUNT(*) FROM {table}"))[0]
        return n

    async def ping(self) -> bool:
        rows = await self.db.execute_fetchall("SELECT 1")
        return rows[0][0] == 1


def _outbox_row(r) -> OutboxRow:
    return OutboxRow(r[0], OutboundMessage(r[1], r[2], loads(r[4]), r[3], r[7]), r[5], from_epoch(r[6]))
