"""Announced maintenance windows (`outage-bot outage schedule`, `/outage schedule`): announced when
scheduled, a reminder shortly before, and an outage that opens at the start and closes at the end
by itself, each step announced (the start and the end not, when the admin asked for quiet).

The leader's duty (`tick`) takes each step once: it is recorded in the same transaction as its
messages, so a restart or a second worker never repeats one."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine.types import OutageInfo
from bot.features.outages import Announcement, OutageError, Outages, checked_summary
from bot.playbook.model import Playbook
from bot.store.base import Maintenance, OutageConflict

REMIND_BEFORE = timedelta(minutes=30)
MAX_AHEAD = timedelta(days=90)
MAX_LENGTH = timedelta(days=14)
TAKEN = 0  # outage_id of a window that found an outage open already: it opened none of its own


class MaintenanceWindows:
    def __init__(self, outages: Outages):
        self.outages, self.store, self.catalog = outages, outages.store, outages.catalog

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.outages.calendar.tz).strftime("%Y-%m-%d %H:%M")

    def _info(self, book: Playbook, summary: str, components, region, starts_at, ends_at) -> OutageInfo:
        return OutageInfo(book.system, summary, region, self._local(ends_at), None, tuple(components))

    def _render(self, book: Playbook, key: str, window_info: OutageInfo, starts_at: datetime) -> str:
        return self.outages.render(book, key, window_info, (), None, {"starts": self._local(starts_at)})

    async def schedule(
        self, book: Playbook, summary: str, components: tuple[str, ...], region: str | None,
        starts_at: datetime, ends_at: datetime, quiet: bool, now: datetime, dry_run: bool = False,
    ) -> tuple[Maintenance | None, Announcement]:  # fmt: skip
        summary = checked_summary(summary)
        if not now < starts_at < ends_at:
            raise OutageError("a maintenance window starts in the future and ends after it starts")
        if starts_at - now > MAX_AHEAD or ends_at - starts_at > MAX_LENGTH:
            raise OutageError(f"a window starts within {MAX_AHEAD.days} days and lasts at most {MAX_LENGTH.days}")
        info = self._info(book, summary, components, region, starts_at, ends_at)
        announcement = await self.outages.announcement(self._render(book, "scheduled", info, starts_at), info)
        if dry_run:
            return None, announcement
        async with self.store.transaction():
            window = await self.store.schedule_maintenance(
                book.system, summary, components, region, starts_at, ends_at, quiet, now
            )
            await self.outages.send(announcement, now)
        return window, announcement

    async def cancel(self, window_id: int, now: datetime) -> bool:
        return await self.store.mark_maintenance(window_id, "cancelled_at", now, now)

    async def tick(self, now: datetime) -> int:
        """Take every step that is due; how many were taken."""
        steps = 0
        for window in await self.store.maintenance_ahead():
            book = self.catalog.by_system(window.system)
            if book is not None:
                steps += await self._step(book, window, now)
        return steps

    async def _step(self, book: Playbook, window: Maintenance, now: datetime) -> int:
        info = self._info(book, window.summary, window.components, window.region, window.starts_at, window.ends_at)
        if window.reminded_at is None and window.starts_at - REMIND_BEFORE <= now < window.starts_at:
            announcement = await self.outages.announcement(self._render(book, "soon", info, window.starts_at), info)
            async with self.store.transaction():
                if await self.store.mark_maintenance(window.id, "reminded_at", now, now):
                    await self.outages.send(announcement, now)
            return 1
        if window.outage_id is None and window.starts_at <= now < window.ends_at:
            async with self.store.transaction():
                try:
                    outage, _ = await self.outages.start(
                        book, window.summary, window.region, info.until, None, now,
                        components=window.components, announce=not window.quiet,
                    )  # fmt: skip
                    opened = outage.id
                except OutageConflict:  # an outage of the system is open already: it stands for the window
                    opened = TAKEN
                await self.store.mark_maintenance(window.id, "outage_id", opened, now)
            return 1
        if window.ended_at is None and now >= window.ends_at:
            async with self.store.transaction():
                if not await self.store.mark_maintenance(window.id, "ended_at", now, now):
                    return 0
                still_open = await self.outages.open_for(book)
                if window.outage_id and still_open is not None and still_open.id == window.outage_id:
                    await self.outages.resolve(book, now, announce=not window.quiet)
            return 1
        return 0
