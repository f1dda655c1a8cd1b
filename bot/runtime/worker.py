"""The bot's heartbeat: due timers into the inbox, the inbox through the engine, due reminders into
the outbox, then wake the senders.

Woken at once by a channel that accepted a message, and every second regardless, so rows written
by another process (the CLI) are picked up too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.runtime.clock import Clock
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.reminders import fire_due_reminders
from bot.runtime.scheduler import fire_due
from bot.runtime.wake import Loop
from bot.runtime.workcal import WorkCalendar
from bot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 1.0


class Worker(Loop):
    interval = IDLE_POLL_S

    def __init__(
        self,
        store: SqliteStore,
        dispatcher: Dispatcher,
        clock: Clock,
        on_output: Callable[[], None],
        calendar: WorkCalendar,
    ):
        super().__init__()
        self.store, self.dispatcher, self.clock, self.on_output = store, dispatcher, clock, on_output
        self.calendar = calendar

    async def tick(self) -> int:
        fired = await fire_due(self.store, self.clock)
        processed = await self.dispatcher.drain()
        reminders = await fire_due_reminders(self.store, self.clock, self.calendar)
        if processed or reminders:
            self.on_output()
        return processed + len(fired) + reminders
