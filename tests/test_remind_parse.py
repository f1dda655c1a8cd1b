from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.features.remind_parse import CancelSpec, RemindError, RemindSpec, parse_remind

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.fromisoformat("2026-03-02T10:00:00+08:00")


@pytest.mark.parametrize(
    ("args", "first", "every", "text"),
    [
        ("in 30m 开会", "2026-03-02T10:30", None, "开会"),
        ("in 45s check", "2026-03-02T10:00:45", None, "check"),
        ("in 1h30m re-verify", "2026-03-02T11:30", None, "re-verify"),
        ("in 30 minutes stand up", "2026-03-02T10:30", None, "stand up"),
        ("at 09:30 早会", "2026-03-03T09:30", None, "早会"),  # past today: tomorrow
        ("at 11:00 复核", "2026-03-02T11:00", None, "复核"),
        ("tomorrow 09:00 查验", "2026-03-03T09:00", None, "查验"),
        ("every 2h 不要开票", "2026-03-02T12:00", 7200, "不要开票"),
        ("30分钟后 核对金额", "2026-03-02T10:30", None, "核对金额"),
        ("45秒后 测试", "2026-03-02T10:00:45", None, "测试"),
        ("2小时后 再查验", "2026-03-02T12:00", None, "再查验"),
        ("明天9:00 重新查验", "2026-03-03T09:00", None, "重新查验"),
        ("明天 9:30 开会", "2026-03-03T09:30", None, "开会"),
        ("每2小时 手工记录", "2026-03-02T12:00", 7200, "手工记录"),
        ("每30分钟 看公告", "2026-03-02T10:30", 1800, "看公告"),
        ("今天15：00 开会", "2026-03-02T15:00", None, "开会"),  # full-width colon
    ],
)
def test_forms(args, first, every, text):
    spec = parse_remind(args, NOW, TZ)
    assert isinstance(spec, RemindSpec)
    assert spec.first_at == datetime.fromisoformat(first).replace(tzinfo=TZ)
    assert spec.every == (timedelta(seconds=every) if every else None)
    assert spec.text == text


def test_group_and_cancel():
    spec = parse_remind("@财务部 every 2h 提醒", NOW, TZ)
    assert spec.group == "财务部" and spec.every == timedelta(hours=2)
    assert parse_remind("cancel 12", NOW, TZ) == CancelSpec(12)
    assert parse_remind("取消 #7", NOW, TZ) == CancelSpec(7)
    assert parse_remind("@财务部 cancel 3", NOW, TZ) == CancelSpec(3, "财务部")


@pytest.mark.parametrize(
    "args",
    [
        "",
        "soon 开会",
        "in 30m",
        "every 30s spam",
        "at 25:00 x",
        "tomorrow 开会",
        "in x 开会",
        "cancel",
        "cancel abc",
        "in 400d 明年",
        "@ in 5m x",
    ],
)
def test_bad_forms(args):
    with pytest.raises(RemindError):
        parse_remind(args, NOW, TZ)
