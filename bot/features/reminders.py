"""Due reminders → outbox rows. Each occurrence fires once, even across crashes and restarts, and
one that comes more than five minutes late says so."""

from __future__ import annotations

from datetime import timedelta

from bot import metrics
from bot.features.workcal import WorkCalendar
from bot.runtime.clock import Clock
from bot.runtime.scheduler import LATE_AFTER
from bot.store.base import OutboundMessage
from bot.store.sql import SqlStore

LATE_MARK = "（延迟发送 / sent late）"


async def fire_due_reminders(store: SqlStore, clock: Clock, calendar: WorkCalendar) -> int:
    now = clock.now()
    fired = 0
    for reminder in await store.due_reminders(now):
        late = now - reminder.next_at > LATE_AFTER
        text = reminder.text + (f"\n{LATE_MARK}" if late else "")
        message = OutboundMessage(reminder.channel, reminder.chat, {"text": text, "options": [], "lang": "zh"})
        next_at = None
        if reminder.every_s:
            next_at = calendar.next_after(
                reminder.next_at, timedelta(seconds=reminder.every_s), now, reminder.working_hours
            )
        if await store.fire_reminder(reminder, message, next_at, now):
            fired += 1
            metrics.REMINDERS_FIRED.inc()
            if late:
                metrics.REMINDERS_LATE.inc()
    return fired
