"""Working time: Chinese workdays with make-up days (调休), office hours, the year the calendar lacks."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.features.workcal import WorkCalendar, parse_hours

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(TZ, time(9), time(18))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_make_up_saturday_is_a_workday_and_national_day_is_not():
    assert CAL.is_workday(date(2025, 9, 28))  # Sunday, made up for National Day
    assert CAL.is_workday(date(2025, 10, 11))  # Saturday, made up
    assert not CAL.is_workday(date(2025, 10, 1))
    assert not CAL.is_workday(date(2025, 10, 8))
    assert CAL.is_workday(date(2025, 10, 9))


def test_next_working_start_skips_the_golden_week():
    assert CAL.next_working_start(at("2025-09-30T18:30")) == at("2025-10-09T09:00")
    assert CAL.next_working_start(at("2025-10-10T20:00")) == at("2025-10-11T09:00")  # the make-up Saturday


def test_into_working_time():
    assert CAL.into_working_time(at("2026-03-02T10:15")) == at("2026-03-02T10:15")  # Monday morning
    assert CAL.into_working_time(at("2026-03-02T18:00")) == at("2026-03-03T09:00")  # closing time
    assert CAL.into_working_time(at("2026-03-02T07:00")) == at("2026-03-02T09:00")
    assert CAL.into_working_time(at("2026-03-07T11:00")) == at("2026-03-09T09:00")  # Saturday → Monday


def test_a_year_the_calendar_does_not_know_falls_back_to_monday_to_friday(caplog):
    calendar = WorkCalendar(TZ, time(9), time(18))
    with caplog.at_level(logging.WARNING):
        assert calendar.is_workday(date(2099, 1, 2))  # a Friday
        assert not calendar.is_workday(date(2099, 1, 3))  # a Saturday
        assert calendar.next_working_start(at("2099-01-02T19:00")) == at("2099-01-05T09:00")
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1  # once per year, not once per question


def test_the_year_end_crosses_into_the_new_year():
    assert CAL.next_working_start(at("2025-12-31T18:00")) == at("2026-01-04T09:00")  # New Year: Jan 1-3 off


def test_recurring_reminders_skip_missed_slots_and_keep_office_hours():
    every = timedelta(hours=2)
    due = at("2026-03-02T10:00")
    assert CAL.next_after(due, every, due, working_hours=True) == at("2026-03-02T12:00")
    # the bot was down from 10:00 to 15:10: one firing now, then the rhythm resumes after now
    assert CAL.next_after(due, every, at("2026-03-02T15:10"), working_hours=True) == at("2026-03-02T16:00")
    assert CAL.next_after(at("2026-03-02T17:00"), every, at("2026-03-02T17:00"), True) == at("2026-03-03T09:00")
    assert CAL.next_after(at("2026-03-02T17:00"), every, at("2026-03-02T17:00"), False) == at("2026-03-02T19:00")


def test_parse_hours():
    assert parse_hours("09:00-18:00") == (time(9), time(18))
    with pytest.raises(ValueError):
        parse_hours("18:00-09:00")
