"""Facts people state in passing: the day an invoice was issued, how many times something was tried.

Pure: "today" arrives as an argument (the local date in OUTAGE_BOT_TZ), never read from a clock.
A day read from a whole message counts only where it is said of issuing ("今天开的", "issued
yesterday"): "今天查了六次" is about verifying today, not about the invoice's date. A reply to a
question about the date may name the day alone ("昨天").
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

from bot.engine.clauses import Clause, clauses

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_EN_NUMBERS = {
    "once": 1, "one": 1, "twice": 2, "two": 2, "three": 3, "thrice": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "several": 4,
}  # fmt: skip
MANY = 99  # "好多次", "many times": more than any daily limit
FEW = 3  # "几次", "a few times"
_MONTHS = {
    m: i
    for i, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        1,
    )
    for m in names
}  # fmt: skip
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS_EN = {
    d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}

# Words for a day relative to today, longest first so 前天 isn't read as 天.
_RELATIVE = (
    (("今天", "今日", "今早", "今晨", "今儿", "刚开", "刚刚开", "刚才开", "刚开具", "刚刚", "today", "this morning",
      "this afternoon", "just now", "earlier today", "just issued"), 0),
    (("大前天",), 3),
    (("前天", "day before yesterday"), 2),
    (("昨天", "昨日", "昨晚", "昨儿", "yesterday", "last night"), 1),
    (("上周", "上星期", "上个星期", "上个礼拜", "上礼拜", "last week", "a week ago"), 7),
    (("上个月", "上月", "last month", "a month ago"), 30),
    (("去年", "last year"), 365),
)  # fmt: skip
_ISSUE_WORDS = ("开", "issued", "issue", "made out", "raised", "created", "dated")
_ISSUE_REACH = 8  # characters between the day and the word for issuing: 今天上午开的, 11月3日开具


def cn_number(text: str) -> int | None:
    """12, 十二, 二十, 两 → an int."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS[text] if len(text) == 1 else None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _not_future(day: date | None, today: date) -> date | None:
    """A day named without a year that lies ahead meant last year's."""
    if day is not None and day > today:
        return _valid(day.year - 1, day.month, day.day)
    return day


_NUM = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_FULL = re.compile(r"(20\d\d)\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*(?:日|号)?")
_MONTH_DAY = re.compile(rf"{_NUM}\s*月\s*(?:份)?\s*{_NUM}\s*(?:日|号)")
_DAY_ONLY = re.compile(rf"(?<![月\d])(?:本月|这个月)?{_NUM}\s*号")
_EN_DATE = re.compile(
    r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b|\b([a-z]{3,9})\s+(\d{1,2})(?:st|nd|rd|th)?\b"
)
_DAYS_AGO = re.compile(rf"{_NUM}\s*(天|周|个星期|星期|个月)前|(\d{{1,2}}|[a-z]+)\s+(day|week|month)s?\s+ago")
_HOURS_AGO = re.compile(
    r"(?:\d{1,2}|[一二两三四五六七八九十半几]{1,3})\s*个?\s*(?:小时|钟头|分钟)(?:之)?前"
    r"|\b(?:\d{1,2}|an?|one|two|three|four|five|six|a few|few|half an?)\s+(?:hours?|minutes?|mins?)\s+ago\b"
)  # said of today
_FEW_DAYS_AGO = ("前几天", "几天前", "好几天前", "几天之前", "前两天", "这几天", "a few days ago", "few days ago",
                 "couple of days ago", "couple days ago", "the other day", "some days ago")  # fmt: skip
_EN_DAY_ONLY = re.compile(r"\bon\s+the\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_MONTH_ONLY = re.compile(rf"{_NUM}\s*月(?:份)?(?![初底末中\d一二两三四五六七八九十])|\bin\s+([a-z]{{3,9}})\b")
_WEEKDAY_ZH = re.compile(r"(上)?(?:周|星期|礼拜)([一二三四五六日天])")
_WEEKDAY_EN = re.compile(r"\b(last\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
_MONTH_START = ("月初", "这个月初", "本月初", "beginning of the month", "start of the month")


def _day_in(clause: Clause, today: date) -> tuple[date, int] | None:
    """The first day a clause names, and where it is named."""
    text = clause.text
    if m := _FULL.search(text):
        return (d, m.start()) if (d := _valid(int(m[1]), int(m[2]), int(m[3]))) and d <= today else None
    if m := _MONTH_DAY.search(text):
        month, day = cn_number(m[1]), cn_number(m[2])
        if month and day and (d := _not_future(_valid(today.year, month, day), today)):
            return d, m.start()
    if m := _EN_DATE.search(text):
        day_s, month_s = (m[1], m[2]) if m[1] else (m[4], m[3])
        month = _MONTHS.get(month_s)
        if month and (d := _not_future(_valid(today.year, month, int(day_s)), today)):
            return d, m.start()
    if m := _DAYS_AGO.search(text):
        amount = cn_number(m[1]) if m[1] else (int(m[3]) if m[3].isdigit() else _EN_NUMBERS.get(m[3]))
        unit = m[2] or m[4]
        if amount is not None:
            days = amount * (7 if unit in ("周", "个星期", "星期", "week") else 30 if unit in ("个月", "month") else 1)
            return today - timedelta(days=days), m.start()
    if m := _HOURS_AGO.search(text):
        return today, m.start()
    for word in _FEW_DAYS_AGO:
        if found := clause.find(word):
            return today - timedelta(days=FEW), found[0]
    for words, back in _RELATIVE:
        for word in words:
            for start in clause.find(word):
                if clause.asked_at(start):
                    continue  # 是不是今天开的: a question, not a day
                if clause.negated_at(start, word):
                    return today - timedelta(days=max(back, 1)), start  # 不是今天开的: before today
                return today - timedelta(days=back), start
    for word in _MONTH_START:
        if (found := clause.find(word)) and not clause.negated_at(found[0], word):
            return today.replace(day=1), found[0]
    if m := _WEEKDAY_ZH.search(text):
        return _last_weekday(today, _WEEKDAYS_ZH[m[2]], bool(m[1])), m.start()
    if m := _WEEKDAY_EN.search(text):
        return _last_weekday(today, _WEEKDAYS_EN[m[2]], bool(m[1])), m.start()
    if m := _DAY_ONLY.search(text) or _EN_DAY_ONLY.search(text):
        day = cn_number(m[1])
        if day and (d := _valid(today.year, today.month, day)):
            if d > today:  # the 28th said on the 3rd: last month's
                last_month = today.replace(day=1) - timedelta(days=1)
                d = _valid(last_month.year, last_month.month, day)
            if d:
                return d, m.start()
    if m := _MONTH_ONLY.search(text):
        month = cn_number(m[1]) if m[1] else _MONTHS.get(m[2])
        if month and 1 <= month <= 12 and month != today.month:  # this month alone could be today
            return _not_future(_valid(today.year, month, 1), today), m.start()
    return None


def _last_weekday(today: date, weekday: int, last_week: bool) -> date:
    back = (today.weekday() - weekday) % 7
    return today - timedelta(days=back + (7 if last_week else 0))


@lru_cache(maxsize=4096)
def read_day(text: str, today: date, said_of_issuing: bool = True) -> date | None:
    """The day a message says something happened. With `said_of_issuing`, only a day said of
    issuing counts ("今天上午开的", "issued on 3 Nov"); otherwise any day named."""
    for clause in clauses(text):
        found = _day_in(clause, today)
        if found is None:
            continue
        day, where = found
        if not said_of_issuing:
            return day
        near = clause.text[max(0, where - _ISSUE_REACH) : where + _ISSUE_REACH + 6]
        if any(w in near for w in _ISSUE_WORDS):
            return day
    return None


_COUNT_ZH = re.compile(r"(?:第\s*)?(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?:次|遍|回)")
_COUNT_EN = re.compile(
    r"\b(\d{1,3}|once|twice|thrice|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|several)\s*(?:times?|tries|attempts)?\b"
)
_MANY = ("好多次", "很多次", "无数次", "好几十次", "几十次", "十几次", "十多次", "十几遍", "多次", "n次", "好多遍", "很多遍", "无数遍", "many times", "lots of times",
         "over and over", "a lot", "loads of times", "again and again", "dozens of times")  # fmt: skip
_FEW = ("几次", "好几次", "a few times", "several times")
_UNCOUNTED = ("不记得", "记不清", "不知道", "不清楚", "忘了", "没数", "没算", "don't remember", "didn't count",
              "not sure how many", "no idea how many", "lost count")  # fmt: skip
_AMOUNT = r"(\d{1,2}|[一二两三四五六七八九十]{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)"
_MORE_THAN = re.compile(rf"(?:(?<!不)超过|多于|more than|over)\s*{_AMOUNT}|{_AMOUNT}\s*次以上")
_FEWER_THAN = re.compile(rf"(?:不到|少于|不超过|fewer than|less than|under)\s*{_AMOUNT}")


def _amount(word: str) -> int | None:
    return cn_number(word) if not word.isalpha() or not word.isascii() else _EN_NUMBERS.get(word)


@lru_cache(maxsize=4096)
def read_count(text: str) -> int | None:
    """How many times something was done: 查了六次 → 6, 第6次 → 6, "twice" → 2, 好多次 → MANY."""
    for clause in clauses(text):
        for word in _MANY:
            if clause.has(word):
                return MANY
        if m := _MORE_THAN.search(clause.text):
            n = _amount(m[1] or m[2])
            return None if n is None else n + (1 if m[1] else 0)  # 超过5次 → 6; 5次以上 → 5
        if m := _FEWER_THAN.search(clause.text):
            n = _amount(m[1])
            return None if n is None else max(n - 1, 0)
        if m := _COUNT_ZH.search(clause.text):
            digits = m[1]
            if len(digits) == 2 and "十" not in digits:  # 五六次, 两三次: the lower of the two
                digits = digits[0]
            return cn_number(digits)
        if any(word in clause.text for word in _UNCOUNTED):
            continue  # 不记得查了几次: a question about the count, not one
        for word in _FEW:
            if clause.has(word):
                return FEW
        m = _COUNT_EN.search(clause.text)
        if m and (m[0].strip() in ("once", "twice", "thrice") or re.search(r"times?|tries|attempts", m[0])):
            word = m[1]
            return int(word) if word.isdigit() else _EN_NUMBERS[word]
    return None
