"""Working time in China: workdays with make-up days (调休), and office hours, in one time zone.

Holidays come from the `chinesecalendar` package, which is updated every year when the State
Council publishes the next year's schedule; for a year it doesn't know yet we fall back to
Monday-Friday and log a warning once for that year.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    def __init__(self, tz: ZoneInfo, start: time, end: time):
        self.tz, self.start, self.end = tz, start, end
        self._warned: set[int] = set()

    def is_workday(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("no Chinese holiday data for %s (update chinesecalendar); counting Monday-Friday", day.year)
            return day.weekday() < 5

    def working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        return self.is_workday(local.date()) and self.start <= local.time() < self.end

    def next_working_start(self, after: datetime) -> datetime:
        """The start of office hours on the first workday that begins after `after`."""
        day = after.astimezone(self.tz).date()
        for _ in range(400):
            start = datetime.combine(day, self.start, self.tz)
            if start > after and self.is_workday(day):
                return start
            day += timedelta(days=1)
        raise RuntimeError("no workday within 400 days")

    def into_working_time(self, moment: datetime) -> datetime:
        """`moment` if it falls in office hours on a workday, else the next start of office hours."""
        return moment if self.working(moment) else self.next_working_start(moment)

    def next_after(self, due: datetime, every: timedelta, now: datetime, working_hours: bool) -> datetime:
        """The next occurrence of a recurring reminder that was due at `due`: the first slot of its
        rhythm after `now` (missed slots are not replayed), moved into office hours if it keeps them."""
        steps = max(1, int((now - due) / every) + 1)
        candidate = due + steps * every
        return self.into_working_time(candidate) if working_hours else candidate


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-18:00' → (09:00, 18:00)."""
    start_text, sep, end_text = text.partition("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    if not sep or start >= end:
        raise ValueError("must look like 09:00-18:00, start before end")
    return start, end
