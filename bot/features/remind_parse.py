"""`/remind …` in English or Chinese → when (and how often) and what.

    in 30m TEXT · in 45s TEXT · in 1h30m TEXT    30分钟后 TEXT · 45秒后 TEXT · 2小时后 TEXT
    at 09:30 TEXT (today, or tomorrow once past)  9:30 TEXT · 今天9:30 TEXT
    tomorrow 09:00 TEXT                           明天9:00 TEXT · 明天 9:00 TEXT
    every 2h TEXT · every 30m TEXT                每2小时 TEXT · 每30分钟 TEXT
    cancel ID                                     取消 ID
An optional `@NAME` first names a group (for admins in a one-to-one chat).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MIN_EVERY = timedelta(minutes=1)
MAX_AHEAD = timedelta(days=366)
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "秒": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "分钟": 60,
    "分": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "小时": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "天": 86400,
}
_UNIT = r"(?:seconds?|minutes?|hours?|days?|sec|min|hr|s|m|h|d)(?![a-z])|秒|分钟|分|小时|天"
_DURATION = re.compile(rf"^((?:\d+\s*(?:{_UNIT})\s*)+)", re.IGNORECASE)
_PART = re.compile(rf"(\d+)\s*({_UNIT})", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})")


class RemindError(ValueError):
    """Not a form we understand; the caller shows the usage."""


@dataclass(frozen=True)
class RemindSpec:
    first_at: datetime
    every: timedelta | None
    text: str
    group: str | None = None


@dataclass(frozen=True)
class CancelSpec:
    reminder_id: int
    group: str | None = None


def _duration(text: str) -> tuple[timedelta, str] | None:
    found = _DURATION.match(text)
    if not found:
        return None
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(found.group(1)))
    return timedelta(seconds=seconds), text[found.end() :].strip()


def _clock(text: str) -> tuple[int, int, str] | None:
    found = _CLOCK.match(text)
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        raise RemindError("no such time of day")
    return hour, minute, text[found.end() :].strip()


def _at(now: datetime, tz: ZoneInfo, hour: int, minute: int, days: int = 0) -> datetime:
    local = now.astimezone(tz)
    moment = (local + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if days == 0 and moment <= local:
        moment += timedelta(days=1)  # "at 09:30" after 09:30 means tomorrow
    return moment


def parse_remind(args: str, now: datetime, tz: ZoneInfo) -> RemindSpec | CancelSpec:
    text = unicodedata.normalize("NFKC", args).strip()
    group = None
    if text.startswith("@"):
        group, _, text = text[1:].partition(" ")
        text = text.strip()
        if not group:
            raise RemindError("@ needs a group name")
    lower = text.lower()
    for word in ("cancel", "取消"):
        if lower.startswith(word):
            rest = text[len(word) :].strip().lstrip("#")
            if not rest.isdigit():
                raise RemindError("cancel needs a reminder id")
            return CancelSpec(int(rest), group)
    every = None
    if lower.startswith("every ") or text.startswith("每"):
        parsed = _duration(text[6:].strip() if lower.startswith("every ") else text[1:].strip())
        if parsed is None:
            raise RemindError("every needs a duration such as 2h")
        every, body = parsed
        if every < MIN_EVERY:
            raise RemindError("reminders repeat at most once a minute")
        first_at = now + every
    elif lower.startswith("in "):
        parsed = _duration(text[3:].strip())
        if parsed is None:
            raise RemindError("in needs a duration such as 30m")
        delay, body = parsed
        first_at = now + delay
    elif lower.startswith("tomorrow") or text.startswith("明天"):
        clock = _clock(text[8:].strip() if lower.startswith("tomorrow") else text[2:].strip())
        if clock is None:
            raise RemindError("tomorrow needs a time such as 09:00")
        first_at, body = _at(now, tz, clock[0], clock[1], days=1), clock[2]
    elif lower.startswith("at ") or text.startswith("今天") or _CLOCK.match(text):
        rest = text[3:].strip() if lower.startswith("at ") else text.removeprefix("今天").strip()
        clock = _clock(rest)
        if clock is None:
            raise RemindError("at needs a time such as 09:30")
        first_at, body = _at(now, tz, clock[0], clock[1]), clock[2]
    else:
        parsed = _duration(text)
        if parsed is None or not parsed[1].startswith("后"):
            raise RemindError("unknown form")
        delay, body = parsed[0], parsed[1][1:].strip()  # 30分钟后 TEXT
        first_at = now + delay
    if not body:
        raise RemindError("what should I say?")
    if first_at - now > MAX_AHEAD or first_at <= now:
        raise RemindError("the time must be in the next year")
    return RemindSpec(first_at, every, body, group)
