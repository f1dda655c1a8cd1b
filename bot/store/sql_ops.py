"""Statements for operations: outages, reminders, manual invoice records, user profiles (both backends)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.store.base import (
    Alert,
    InvoiceRecord,
    Maintenance,
    Outage,
    OutageConflict,
    OutboundMessage,
    Reminder,
    Subscription,
)
from bot.store.codec import from_epoch, from_epoch_or_none, to_epoch

_OUTAGE_COLUMNS = (
    "id, system, summary, region, until, link, started_at, updated_at, resolved_at, next_update_at, overdue_told_at, "
    "components"
)
_REMINDER_COLUMNS = "id, kind, channel, chat, text, next_at, every_s, working_hours, outage_id, created_by, fired_count"


def _outage(row: Sequence) -> Outage:
    return Outage(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        from_epoch(row[6]),
        from_epoch(row[7]),
        from_epoch_or_none(row[8]),
        from_epoch_or_none(row[9]),
        from_epoch_or_none(row[10]),
        tuple(json.loads(row[11])) if row[11] else (),
    )


def _epoch(moment: datetime | None) -> float | None:
    return to_epoch(moment) if moment is not None else None


def _alert(row: Sequence) -> Alert:
    samples = tuple(json.loads(row[5])) if row[5] else ()
    return Alert(row[0], row[1], from_epoch(row[2]), row[3], row[4], samples, from_epoch_or_none(row[6]), row[7])


def _reminder(row: Sequence) -> Reminder:
    return Reminder(
        row[0], row[1], row[2], row[3], row[4], from_epoch(row[5]), row[6], bool(row[7]), row[8], row[9], row[10]
    )


class OperationsMixin:
    """Mixed into SqlStore: uses its `db`, `transaction()` and `_write()`."""

    # ---- outages ------------------------------------------------------------------------------

    async def _outages(self, where: str, params: Sequence = ()) -> list[Outage]:
        rows = await self.db.execute_fetchall(f"SELECT {_OUTAGE_COLUMNS} FROM outages WHERE {where}", params)
        return [_outage(r) for r in rows]

    async def open_outages(self) -> list[Outage]:
        return await self._outages("resolved_at IS NULL ORDER BY started_at")

    async def outages_since(self, since: datetime) -> list[Outage]:
        """Open outages, and those resolved since `since`: newest first (the status page's history)."""
        return await self._outages(
            "resolved_at IS NULL OR resolved_at >= ? ORDER BY started_at DESC", (to_epoch(since),)
        )

    async def start_outage(
        self,
        system: str,
        summary: str,
        region: str | None,
        until: str | None,
        link: str | None,
        now: datetime,
        next_update_at: datetime | None = None,
        components: tuple[str, ...] = (),
    ) -> Outage:
        try:
            outage_id = await self._insert(
                "INSERT INTO outages (system, summary, region, until, link, started_at, updated_at, next_update_at, "
                "components) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (system, summary, region, until, link, to_epoch(now), to_epoch(now), _epoch(next_update_at),
                 json.dumps(list(components)) if components else None),
            )  # fmt: skip
        except self.DUPLICATE:
            raise OutageConflict(f"an outage of {system} is already open") from None
        return (await self._outages("id = ?", (outage_id,)))[0]

    async def update_outage(
        self, outage_id: int, summary: str, until: str | None, now: datetime, next_update_at: datetime | None = None
    ) -> Outage:
        """An update keeps its promise: the next one is what this update promises, if anything."""
        await self._write(
            "UPDATE outages SET summary = ?, until = COALESCE(?, until), updated_at = ?, next_update_at = ?, "
            "overdue_told_at = NULL WHERE id = ?",
            (summary, until, to_epoch(now), _epoch(next_update_at), outage_id),
        )
        return (await self._outages("id = ?", (outage_id,)))[0]

    async def overdue_outages(self, now: datetime) -> list[Outage]:
        """Open outages whose promised update time has passed without an update, not yet told."""
        where = "resolved_at IS NULL AND next_update_at <= ? AND overdue_told_at IS NULL ORDER BY id"
        return await self._outages(where, (to_epoch(now),))

    async def mark_overdue_told(self, outage_id: int, now: datetime) -> bool:
        """False when another worker told it first (or an update came meanwhile)."""
        cursor = await self._write(
            "UPDATE outages SET overdue_told_at = ? WHERE id = ? AND overdue_told_at IS NULL AND next_update_at <= ?",
            (to_epoch(now), outage_id, to_epoch(now)),
        )
        return cursor.rowcount == 1

    # ---- maintenance windows --------------------------------------------------------------------

    async def schedule_maintenance(
        self, system: str, summary: str, components: tuple[str, ...], region: str | None,
        starts_at: datetime, ends_at: datetime, quiet: bool, now: datetime,
    ) -> Maintenance:  # fmt: skip
        window_id = await self._insert(
            "INSERT INTO maintenance (system, summary, components, region, starts_at, ends_at, quiet, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (system, summary, json.dumps(list(components)) if components else None, region, to_epoch(starts_at),
             to_epoch(ends_at), int(quiet), to_epoch(now)),
        )  # fmt: skip
        return (await self._maintenance("id = ?", (window_id,)))[0]

    async def _maintenance(self, where: str, params: Sequence = ()) -> list[Maintenance]:
        rows = await self.db.execute_fetchall(
            "SELECT id, system, summary, components, region, starts_at, ends_at, quiet, reminded_at, outage_id, "
            f"ended_at FROM maintenance WHERE cancelled_at IS NULL AND {where}",
            params,
        )
        return [
            Maintenance(r[0], r[1], r[2], tuple(json.loads(r[3])) if r[3] else (), r[4], from_epoch(r[5]),
                        from_epoch(r[6]), bool(r[7]), from_epoch_or_none(r[8]), r[9], from_epoch_or_none(r[10]))
            for r in rows
        ]  # fmt: skip

    async def maintenance_ahead(self) -> list[Maintenance]:
        """Windows not over yet (scheduled or running), soonest first."""
        return await self._maintenance("ended_at IS NULL ORDER BY starts_at")

    async def mark_maintenance(self, window_id: int, column: str, value: object, now: datetime) -> bool:
        """Record a step of a window (reminded_at, outage_id, ended_at) once: False if done already."""
        assert column in ("reminded_at", "outage_id", "ended_at", "cancelled_at")
        cursor = await self._write(
            f"UPDATE maintenance SET {column} = ? WHERE id = ? AND {column} IS NULL AND cancelled_at IS NULL",
            (to_epoch(value) if isinstance(value, datetime) else value, window_id),
        )
        return cursor.rowcount == 1

    async def talked_during(self, since: datetime, until: datetime) -> list[tuple[str, str, str, str | None]]:
        """(channel, chat, user, symptom) of the one-to-one conversations active in a time span."""
        rows = await self.db.execute_fetchall(
            "SELECT channel, chat, user, json_extract(state, '$.symptom') FROM conversations "
            "WHERE updated_at >= ? AND updated_at <= ? AND chat = user",
            (to_epoch(since), to_epoch(until)),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def add_timer(self, conversation: str, name: str, due: datetime, payload: dict) -> None:
        await self._write(
            "INSERT INTO timers (conversation, name, due_at, payload) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (conversation, name) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, "
            "fired_at = NULL",
            (conversation, name, to_epoch(due), json.dumps(payload, ensure_ascii=False)),
        )

    # ---- outages noticed from the crowd --------------------------------------------------------

    async def reporters(self, since: datetime, until: datetime, distinct: bool = True) -> dict[str, int]:
        """People who described each symptom in [since, until) (or, not `distinct`, reports)."""
        counted = "COUNT(DISTINCT user)" if distinct else "COUNT(*)"
        rows = await self.db.execute_fetchall(
            f"SELECT symptom, {counted} FROM reports WHERE at >= ? AND at < ? GROUP BY symptom",
            (to_epoch(since), to_epoch(until)),
        )
        return {r[0]: int(r[1]) for r in rows}

    async def first_report_at(self) -> datetime | None:
        rows = await self.db.execute_fetchall("SELECT MIN(at) FROM reports")
        return from_epoch_or_none(rows[0][0]) if rows else None

    async def report_samples(self, symptom: str, since: datetime, limit: int = 3) -> list[str]:
        rows = await self.db.execute_fetchall(
            "SELECT said FROM reports WHERE symptom = ? AND at >= ? AND said IS NOT NULL AND said != '' "
            "ORDER BY at DESC LIMIT ?",
            (symptom, to_epoch(since), limit),
        )
        return [r[0] for r in rows]

    async def add_alert(self, symptom: str, now: datetime, reports: int, usual: float, samples: Sequence[str]) -> Alert:
        alert_id = await self._insert(
            "INSERT INTO alerts (symptom, opened_at, reports, usual, samples) VALUES (?, ?, ?, ?, ?)",
            (symptom, to_epoch(now), reports, usual, json.dumps(list(samples), ensure_ascii=False)),
        )
        return await self.alert(alert_id)

    async def alert(self, alert_id: int) -> Alert | None:
        rows = await self.db.execute_fetchall(
            "SELECT id, symptom, opened_at, reports, usual, samples, closed_at, outage_id FROM alerts WHERE id = ?",
            (alert_id,),
        )
        return _alert(rows[0]) if rows else None

    async def open_alerts(self) -> list[Alert]:
        rows = await self.db.execute_fetchall(
            "SELECT id, symptom, opened_at, reports, usual, samples, closed_at, outage_id FROM alerts "
            "WHERE closed_at IS NULL ORDER BY id"
        )
        return [_alert(r) for r in rows]

    async def close_alert(self, alert_id: int, now: datetime, outage_id: int | None = None) -> bool:
        cursor = await self._write(
            "UPDATE alerts SET closed_at = ?, outage_id = ? WHERE id = ? AND closed_at IS NULL",
            (to_epoch(now), outage_id, alert_id),
        )
        return cursor.rowcount == 1

    # ---- personal subscriptions ---------------------------------------------------------------

    async def subscribe_person(self, subscription: Subscription, now: datetime) -> None:
        parts = json.dumps(list(subscription.components)) if subscription.components else None
        await self._write(
            "INSERT INTO subscriptions (user, channel, chat, components, region, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user) DO UPDATE SET channel = excluded.channel, chat = excluded.chat, "
            "components = excluded.components, region = excluded.region",
            (subscription.user, subscription.channel, subscription.chat, parts, subscription.region, to_epoch(now)),
        )

    async def unsubscribe_person(self, user: str) -> bool:
        return (await self._write("DELETE FROM subscriptions WHERE user = ?", (user,))).rowcount == 1

    async def subscriptions(self, user: str | None = None) -> list[Subscription]:
        where, params = ("WHERE user = ?", (user,)) if user else ("", ())
        rows = await self.db.execute_fetchall(
            f"SELECT user, channel, chat, components, region FROM subscriptions {where} ORDER BY user", params
        )
        return [Subscription(r[0], r[1], r[2], tuple(json.loads(r[3])) if r[3] else (), r[4]) for r in rows]

    async def resolve_outage(self, outage_id: int, now: datetime) -> None:
        await self._write(
            "UPDATE outages SET resolved_at = ?, updated_at = ? WHERE id = ?", (to_epoch(now), to_epoch(now), outage_id)
        )
        await self._write(
            "UPDATE reminders SET done_at = ? WHERE outage_id = ? AND kind = 'plan' AND done_at IS NULL",
            (to_epoch(now), outage_id),
        )

    # ---- reminders ----------------------------------------------------------------------------

    async def add_reminder(
        self,
        kind: str,
        channel: str,
        chat: str,
        text: str,
        first_at: datetime,
        every_s: float | None,
        now: datetime,
        working_hours: bool = False,
        outage_id: int | None = None,
        created_by: str | None = None,
    ) -> int:
        return await self._insert(
            "INSERT INTO reminders (kind, channel, chat, text, next_at, every_s, working_hours, outage_id, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                channel,
                chat,
                text,
                to_epoch(first_at),
                every_s,
                int(working_hours),
                outage_id,
                created_by,
                to_epoch(now),
            ),
        )

    async def retext_plan_reminders(self, outage_id: int, text: str) -> None:
        await self._write(
            "UPDATE reminders SET text = ? WHERE outage_id = ? AND kind = 'plan' AND done_at IS NULL", (text, outage_id)
        )

    async def reminders(self, channel: str | None = None, chat: str | None = None) -> list[Reminder]:
        query, params = f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE done_at IS NULL", []
        if channel is not None:
            query, params = query + " AND channel = ?", [*params, channel]
        if chat is not None:
            query, params = query + " AND chat = ?", [*params, chat]
        rows = await self.db.execute_fetchall(query + " ORDER BY next_at, id", params)
        return [_reminder(r) for r in rows]

    async def cancel_reminder(self, reminder_id: int, now: datetime, chat: str | None = None) -> bool:
        query, params = (
            "UPDATE reminders SET done_at = ? WHERE id = ? AND done_at IS NULL",
            [to_epoch(now), reminder_id],
        )
        if chat is not None:
            query, params = query + " AND chat = ?", [*params, chat]
        return (await self._write(query, params)).rowcount == 1

    async def due_reminders(self, now: datetime, limit: int = 200) -> list[Reminder]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE done_at IS NULL AND next_at <= ? "
            "ORDER BY next_at, id LIMIT ?",
            (to_epoch(now), limit),
        )
        return [_reminder(r) for r in rows]

    async def fire_reminder(
        self, reminder: Reminder, message: OutboundMessage, next_at: datetime | None, now: datetime
    ) -> bool:
        """Queue the reminder's message and move it to its next time (or finish it), together, once:
        False when another process already fired this occurrence."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET next_at = ?, done_at = ?, fired_count = fired_count + 1 "
                "WHERE id = ? AND next_at = ? AND done_at IS NULL",
                (to_epoch(next_at or now), None if next_at else to_epoch(now), reminder.id, to_epoch(reminder.next_at)),
            )
            if cursor.rowcount != 1:
                return False
            await self.enqueue([message], now)
            return True

    # ---- records and profiles -----------------------------------------------------------------

    async def add_record(
        self, user: str, number: str, amount: str, issued_on: str, counterparty: str, now: datetime
    ) -> int:
        return await self._insert(
            "INSERT INTO records (user, number, amount, issued_on, counterparty, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user, number, amount, issued_on, counterparty, to_epoch(now)),
        )

    async def records(self, user: str | None = None, since: datetime | None = None) -> list[InvoiceRecord]:
        query, params = (
            "SELECT id, user, number, amount, issued_on, counterparty, created_at FROM records WHERE 1=1",
            [],
        )
        if user is not None:
            query, params = query + " AND user = ?", [*params, user]
        if since is not None:
            query, params = query + " AND created_at >= ?", [*params, to_epoch(since)]
        rows = await self.db.execute_fetchall(query + " ORDER BY id", params)
        return [InvoiceRecord(r[0], r[1], r[2], r[3], r[4], r[5], from_epoch(r[6])) for r in rows]

    async def region_of(self, user: str) -> str | None:
        rows = await self.db.execute_fetchall("SELECT region FROM profiles WHERE user = ?", (user,))
        return rows[0][0] if rows else None

    async def set_region(self, user: str, region: str, now: datetime) -> None:
        await self._write(
            "INSERT INTO profiles (user, region, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user) DO UPDATE SET region = excluded.region, updated_at = excluded.updated_at",
            (user, region, to_epoch(now)),
        )
