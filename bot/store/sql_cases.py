"""Statements for handover cases, feedback and privacy (forget, retention), on both backends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.base import Case
from bot.store.codec import from_epoch, from_epoch_or_none, to_epoch

_CASE_COLUMNS = "id, conversation, status, summary, agent, agent_name, created_at, claimed_at, closed_at"


def _case(row: Sequence) -> Case:
    return Case(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        from_epoch(row[6]),
        from_epoch_or_none(row[7]),
        from_epoch_or_none(row[8]),
    )


class CasesMixin:
    """Mixed into SqlStore: uses its `db`, `transaction()` and `_write()`."""

    async def open_case(self, conversation: str, channel: str, summary: str, now: datetime) -> Case | None:
        """A new queued case, or None when this conversation already has an open one."""
        try:
            case_id = await self._insert(
                "INSERT INTO cases (conversation, channel, status, summary, created_at, announced_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?)",
                (conversation, channel, summary, to_epoch(now), to_epoch(now)),
            )
        except self.DUPLICATE:
            return None
        return await self.case(case_id)

    async def case(self, case_id: int) -> Case | None:
        rows = await self.db.execute_fetchall(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
        return _case(rows[0]) if rows else None

    async def active_case(self, conversation: str) -> Case | None:
        rows = await self.db.execute_fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE conversation = ? AND status != 'closed'", (conversation,)
        )
        return _case(rows[0]) if rows else None

    async def conversations_with_open_case(self, conversations: list[str]) -> set[str]:
        """Which of these conversations have a case that is not closed."""
        if not conversations:
            return set()
        rows = await self.db.execute_fetchall(
            f"SELECT conversation FROM cases WHERE status != 'closed' AND conversation IN "
            f"({', '.join('?' * len(conversations))})",
            conversations,
        )
        return {r[0] for r in rows}

    async def cases_of_agent(self, agent: str) -> list[Case]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE agent = ? AND status = 'claimed' ORDER BY id", (agent,)
        )
        return [_case(r) for r in rows]

    async def claim_case(self, case_id: int, agent: str, agent_name: str, now: datetime) -> bool:
        """True for the one agent who claims a queued case; everyone else loses the race."""
        cursor = await self._write(
            "UPDATE cases SET status = 'claimed', agent = ?, agent_name = ?, claimed_at = ? "
            "WHERE id = ? AND status = 'queued'",
            (agent, agent_name, to_epoch(now), case_id),
        )
        return cursor.rowcount == 1

    async def close_case(self, case_id: int, now: datetime) -> bool:
        cursor = await self._write(
            "UPDATE cases SET status = 'closed', closed_at = ? WHERE id = ? AND status != 'closed'",
            (to_epoch(now), case_id),
        )
        return cursor.rowcount == 1

    async def unclaimed_before(self, moment: datetime) -> list[Case]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE status = 'queued' AND announced_at <= ? ORDER BY id",
            (to_epoch(moment),),
        )
        return [_case(r) for r in rows]

    async def mark_announced(self, case_id: int, now: datetime) -> None:
        await self._write("UPDATE cases SET announced_at = ? WHERE id = ?", (to_epoch(now), case_id))

    async def case_for_message(self, channel: str, chat: str, sent_ref: str) -> int | None:
        """The case a sent message (e.g. its announcement in the support chat) belongs to."""
        rows = await self.db.execute_fetchall(
            "SELECT json_extract(payload, '$.case_id') FROM outbox WHERE channel = ? AND chat = ? AND sent_ref = ?",
            (channel, chat, sent_ref),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def open_cases(self) -> list[Case]:
        rows = await self.db.execute_fetchall(f"SELECT {_CASE_COLUMNS} FROM cases WHERE status != 'closed' ORDER BY id")
        return [_case(r) for r in rows]

    async def count_open_cases(self) -> int:
        return (await self.db.execute_fetchall("SELECT COUNT(*) FROM cases WHERE status != 'closed'"))[0][0]

    # ---- privacy ------------------------------------------------------------------------------

    async def forget_user(self, channel: str, user: str) -> None:
        """Every conversation, log line, record, summary, profile and timer of this user, in any chat."""
        async with self.transaction() as db:
            keys = [
                r[0]
                for r in await db.execute_fetchall(
                    "SELECT key FROM conversations WHERE channel = ? AND user = ?", (channel, user)
                )
            ]
            for key in keys:
                for table, column in (
                    ("transcript", "conversation"),
                    ("timers", "conversation"),
                    ("cases", "conversation"),
                    ("feedback", "conversation"),
                    ("conversations", "key"),
                ):
                    await db.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))
            await db.execute("DELETE FROM records WHERE user = ?", (f"{channel}:{user}",))
            await db.execute("DELETE FROM profiles WHERE user = ?", (f"{channel}:{user}",))
            await db.execute("DELETE FROM subscriptions WHERE user = ?", (f"{channel}:{user}",))
            await db.execute("DELETE FROM reports WHERE user = ?", (f"{channel}:{user}",))

    async def purge(self, queue_before: datetime, log_before: datetime) -> dict[str, int]:
        """Dedupe keys, kept outbox rows and fired timers older than the queue retention; transcript
        lines older than the log's."""
        async with self.transaction() as db:
            seen = await db.execute("DELETE FROM seen WHERE at < ?", (to_epoch(queue_before),))
            outbox = await db.execute(
                "DELETE FROM outbox WHERE COALESCE(sent_at, failed_at) < ? AND id NOT IN "
                "(SELECT id FROM outbox WHERE CAST(json_extract(payload, '$.case_id') AS INTEGER) IN "
                " (SELECT id FROM cases WHERE status != 'closed'))",
                (to_epoch(queue_before),),
            )
            # lines are appended in time order: the old ones are those before the first new one, found by
            # walking the oldest ids, so the purge costs what it deletes, not the size of the transcript
            log = await db.execute(
                "DELETE FROM transcript WHERE id < COALESCE("
                "(SELECT id FROM transcript WHERE at >= ? ORDER BY id LIMIT 1), (SELECT MAX(id) + 1 FROM transcript))",
                (to_epoch(log_before),),
            )
            await db.execute("DELETE FROM reports WHERE at < ?", (to_epoch(log_before),))
            timers = await db.execute(
                "DELETE FROM timers WHERE fired_at IS NOT NULL AND fired_at < ?", (to_epoch(queue_before),)
            )
        return {
            "seen": seen.rowcount,
            "outbox": outbox.rowcount,
            "transcript": log.rowcount,
            "timers": timers.rowcount,
        }

    # ---- feedback -----------------------------------------------------------------------------

    async def add_feedback(
        self,
        conversation: str,
        channel: str,
        symptom: str | None,
        cause: str | None,
        outcome: str,
        done: int,
        skipped: int,
        now: datetime,
    ) -> None:
        await self._write(
            "INSERT INTO feedback (conversation, channel, symptom, cause, outcome, steps_done, steps_skipped, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (conversation, channel, symptom, cause, outcome, done, skipped, to_epoch(now)),
        )
