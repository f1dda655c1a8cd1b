"""The bot's heartbeat: due timers into the inbox, the inbox through the engine, due reminders into
the outbox, then wake the senders.

Woken at once by a channel that accepted a message, and every second regardless, so rows written
by another process (the CLI) are picked up too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot import metrics
from bot.features.reminders import fire_due_reminders
from bot.features.workcal import WorkCalendar
from bot.runtime.clock import Clock
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.scheduler import fire_due
from bot.runtime.wake import Loop
from bot.store.errors import STORE_ERRORS
from bot.store.sql import SqlStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 1.0
PURGE_EVERY = timedelta(hours=1)
GAUGES_EVERY = timedelta(seconds=5)
DUTIES_EVERY = timedelta(seconds=5)  # the leader's periodic checks: promised updates, maintenance windows


class Worker(Loop):
    interval = IDLE_POLL_S

    def __init__(
        self,
        store: SqlStore,
        dispatcher: Dispatcher,
        clock: Clock,
        on_output: Callable[[], None],
        calendar: WorkCalendar,
    ):
        super().__init__()
        self.store, self.dispatcher, self.clock, self.on_output = store, dispatcher, clock, on_output
        dispatcher.on_batch = on_output
        self.calendar = calendar
        self.retention: tuple[int, int] | None = None  # (queue days, log days)
        self._purged_at = None
        self.leading: Callable[[], bool] = lambda: True  # one process: it leads
        self._gauges_at = None
        self.duties: list[Callable[[datetime], Awaitable[int]]] = []  # the leader's, every DUTIES_EVERY
        self._duties_at = None

    async def tick(self) -> int:
        """Every worker processes the inbox; the leader alone fires timers and reminders, announces
        cases again and purges (each is safe twice, but needs doing once)."""
        processed = await self.dispatcher.drain()
        if not self.leading():
            return processed
        fired = await fire_due(self.store, self.clock)
        processed += await self.dispatcher.drain() if fired else 0
        reminders = await fire_due_reminders(self.store, self.clock, self.calendar)
        handover = self.dispatcher.handover
        reannounced = await handover.reannounce() if handover is not None else 0
        await self._housekeeping()
        reminders += await self._duties()
        if self._gauges_at is None or self.clock.now() - self._gauges_at >= GAUGES_EVERY:
            await metrics.refresh_gauges(self.store)
            self._gauges_at = self.clock.now()
        if processed or reminders or reannounced:
            self.on_output()
        return processed + len(fired) + reminders + reannounced

    async def _duties(self) -> int:
        now = self.clock.now()
        if self._duties_at is not None and now - self._duties_at < DUTIES_EVERY:
            return 0
        self._duties_at = now
        done = 0
        for duty in self.duties:
            try:
                done += await duty(now)
            except STORE_ERRORS:
                raise  # the loop backs off; the store's health reports it
            except Exception:  # a bug in one duty must not stop the worker, nor the other duties
                log.exception("worker: a periodic duty failed; it runs again in %s s", DUTIES_EVERY.seconds)
        return done

    async def _housekeeping(self) -> None:
        """Purge what the retention settings say is old enough, once an hour."""
        now = self.clock.now()
        if self.retention is None or (self._purged_at is not None and now - self._purged_at < PURGE_EVERY):
            return
        queue_days, log_days = self.retention
        removed = await self.store.purge(now - timedelta(days=queue_days), now - timedelta(days=log_days))
        self._purged_at = now
        if any(removed.values()):
            log.info("retention: removed %s", removed)
