"""Outages, broadcasts, reminder plans and chat commands, on a real SQLite file with a manual clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.app import open_app
from bot.channels.registry import Rules
from bot.config import load_settings
from bot.engine.types import ConversationKey, Inbound
from bot.features.crowd import CrowdRule, CrowdWatch
from bot.features.maintenance import MaintenanceWindows
from bot.features.outages import OutageError, Outages, parse_until, pick_components, pick_system
from bot.features.reminders import LATE_MARK, fire_due_reminders
from bot.runtime.clock import ManualClock
from bot.runtime.scheduler import fire_due
from bot.store.base import Group, OutageConflict
from bot.store.sqlite import SqliteStore
from tests.conftest import deliver_all
from tests.test_cli import run

MONDAY = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
ADMIN, MEMBER, GROUP = "1001", "2002", "-100555"


@pytest.fixture
async def app(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "ops.db"))
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", ADMIN)
    clock = ManualClock(MONDAY)
    application = await open_app(load_settings(), clock=clock)
    yield application
    await application.close()


async def add_groups(store, now, *groups):
    for name, subscribed in groups:
        await store.add_group(Group(name, "wecom", "wecom_robot", f"key-{len(name)}-{name}", subscribed), now)


async def test_start_broadcasts_to_subscribed_groups_and_plans_reminders(app):
    store, now = app.store, app.clock.now()
    await add_groups(store, now, ("财务部", True), ("开票组", True), ("旁观者", False))
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    outage, announcement = await service.start(book, "发票查询服务维护", "北京", "2026-03-02 20:00", None, now)
    assert outage.region == "北京"
    assert [g.name for g in announcement.groups] == ["开票组", "财务部"]
    sent = await deliver_all(store, "wecom", now)
    assert len(sent) == 2 and all("【发票系统故障通报】发票查询服务维护（地区：北京）" in p["text"] for p in sent)
    assert all("[Invoice system outage]" in p["text"] for p in sent)  # Chinese first, then English
    plan = await store.reminders()
    assert [(r.kind, r.chat, r.every_s, r.working_hours) for r in plan] == [
        ("plan", "group:开票组", 7200, True),
        ("plan", "group:财务部", 7200, True),
    ]
    assert plan[0].next_at == datetime.fromisoformat("2026-03-02T12:00:00+08:00")
    with pytest.raises(OutageConflict):
        await service.start(book, "again", None, None, None, now)


async def test_dry_run_writes_nothing(app):
    store, now = app.store, app.clock.now()
    await add_groups(store, now, ("财务部", True))
    service = Outages(store, app.catalog, app.calendar)
    outage, announcement = await service.start(
        pick_system(app.catalog, None), "维护", None, None, None, now, dry_run=True
    )
    assert outage is None and announcement.groups[0].name == "财务部"
    assert await store.open_outages() == [] and await store.count("outbox") == 0


async def test_update_and_resolve_with_the_checklist_listing_recorded_invoices(app):
    store, clock = app.store, app.clock
    await add_groups(store, clock.now(), ("财务部", True))
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    await service.start(book, "系统维护", None, None, None, clock.now())
    await store.add_record("telegram:42", "24112000000016430745", "1234.50", "2026-03-02", "某某公司", clock.now())
    clock.advance(hours=1)
    await service.update(book, "预计今晚恢复", "2026-03-02 20:00", clock.now())
    (plan,) = await store.reminders()
    assert "预计恢复：2026-03-02 20:00" in plan.text  # reminders to come quote the update
    clock.set(datetime.fromisoformat("2026-03-06T19:00:00+08:00"))  # Friday evening
    _, announcement = await service.resolve(book, clock.now())
    assert "24112000000016430745　1234.50" in announcement.text and "查验" in announcement.text
    (checklist,) = await store.reminders()
    assert checklist.kind == "checklist" and checklist.every_s is None
    assert checklist.next_at == datetime.fromisoformat("2026-03-09T09:00:00+08:00")  # the next working morning
    texts = [p["text"] for p in await deliver_all(store, "wecom", clock.now())]
    assert texts[1].startswith("【故障进展】预计今晚恢复") and texts[2].startswith("【发票系统已恢复】")
    with pytest.raises(OutageError):
        await service.resolve(book, clock.now())


async def test_reminders_fire_once_late_after_a_restart_and_keep_their_rhythm(app, tmp_path):
    store, clock = app.store, app.clock
    await add_groups(store, clock.now(), ("财务部", True))
    await Outages(store, app.catalog, app.calendar).start(
        pick_system(app.catalog, None), "维护", None, None, None, clock.now()
    )
    await deliver_all(store, "wecom", clock.now())
    clock.set(datetime.fromisoformat("2026-03-02T12:01:00+08:00"))
    assert await fire_due_reminders(store, clock, app.calendar) == 1
    assert await fire_due_reminders(store, clock, app.calendar) == 0
    on_time = (await deliver_all(store, "wecom", clock.now()))[0]["text"]
    assert on_time.startswith("【提醒】") and LATE_MARK not in on_time
    # down from 13:00 to 17:30: the 14:00 and 16:00 slots come due while nobody is running
    clock.set(datetime.fromisoformat("2026-03-02T17:30:00+08:00"))
    other = SqliteStore(tmp_path / "ops.db")  # a second process racing for the same reminder
    await other.open()
    try:
        fired = [await fire_due_reminders(s, clock, app.calendar) for s in (store, other)]
    finally:
        await other.close()
    assert sorted(fired) == [0, 1]
    late = await deliver_all(store, "wecom", clock.now())
    assert len(late) == 1 and late[0]["text"].endswith(LATE_MARK)
    (plan,) = await store.reminders()
    assert plan.next_at == datetime.fromisoformat("2026-03-03T09:00:00+08:00")  # 18:00 is closing time


def test_until_accepts_iso_and_hh_mm():
    tz = load_settings().tz
    assert parse_until("20:00", MONDAY, tz) == "2026-03-02 20:00"
    assert parse_until("09:00", MONDAY, tz) == "2026-03-03 09:00"
    assert parse_until("2026-03-05T08:00+08:00", MONDAY, tz) == "2026-03-05 08:00"
    assert parse_until("2026-03-05 08:00", MONDAY, tz) == "2026-03-05 08:00"
    with pytest.raises(OutageError):
        parse_until("tonight", MONDAY, tz)


# ---- chat commands through the dispatcher ------------------------------------------------------


async def say(app, text, user=ADMIN, chat=GROUP, channel="telegram", title="财务群") -> list[str]:
    key = ConversationKey(channel, chat, user)
    inbound = Inbound(key, app.clock.now(), text=text, lang_hint="zh", chat_title=title)
    await app.dispatcher.submit(channel, f"{text}-{user}-{app.clock.now().timestamp()}", inbound)
    await app.dispatcher.drain()
    replies = [p for p in await deliver_all(app.store, channel, app.clock.now()) if p.get("user") == user]
    app.clock.advance(seconds=1)
    return [p["text"] for p in replies]


async def test_subscribing_a_group_needs_an_admin_in_it(app):
    assert "想在这里收到哪些部分的故障通知" in (await say(app, "/subscribe", chat=ADMIN))[0]  # one-to-one: personal
    assert await say(app, "/subscribe", user=MEMBER) == ["抱歉，只有管理员可以使用这个命令。"]
    assert await say(app, "/subscribe") == ["本群已订阅故障通报和提醒。"]
    (group,) = await app.store.groups()
    assert (group.name, group.kind, group.address, group.subscribed) == ("财务群", "telegram_group", GROUP, True)
    assert await say(app, "/unsubscribe@outage_test_bot") == ["本群已取消订阅，不再收到故障通报和提醒。"]
    assert not (await app.store.groups())[0].subscribed


async def test_outage_commands_in_chat(app):
    await say(app, "/subscribe")
    assert (await say(app, "/outage start"))[0].startswith("用法：/outage start 概要")
    assert await say(app, "/outage start 发票系统维护", user=MEMBER) == ["抱歉，只有管理员可以使用这个命令。"]
    key = ConversationKey("telegram", GROUP, ADMIN)
    await app.dispatcher.submit("telegram", "start-1", Inbound(key, app.clock.now(), text="/outage start 发票系统维护"))
    await app.dispatcher.drain()
    delivered = {p["text"].splitlines()[0] for p in await deliver_all(app.store, "telegram", app.clock.now())}
    assert delivered == {"已发布故障通报（编号 1），发送到 1 个群。", "【发票系统故障通报】发票系统维护"}
    assert "进行中的故障" in (await say(app, "/outage status", user=MEMBER))[0]
    assert "已有进行中的故障" in (await say(app, "/outage start 又一次"))[0]
    assert "恢复通知和核对清单" in (await say(app, "/outage resolve"))[0]
    assert await say(app, "/outage resolve") == ["当前没有进行中的故障。"]


async def test_remind_in_a_telegram_group(app):
    assert "只有管理员" in (await say(app, "/remind in 30m 开会", user=MEMBER))[0]
    (usage,) = await say(app, "/remind soon 开会")
    assert usage.startswith("用法：/remind in 30m") and "unknown form" in usage
    (created,) = await say(app, "/remind every 2h 别开新发票")
    assert created.startswith("已设置提醒 #1") and "每 2 小时" in created
    (listing,) = await say(app, "/reminders", user=MEMBER)
    assert "#1 " in listing and "别开新发票" in listing
    assert await say(app, "/remind cancel 1") == ["已取消提醒 #1。"]
    assert await say(app, "/remind cancel 1") == ["这里没有编号为 #1 的提醒。"]
    assert await say(app, "/reminders") == ["这里没有待发送的提醒。"]


async def test_remind_a_wecom_group_from_a_one_to_one_chat(app, monkeypatch):
    monkeypatch.setattr(app.settings, "WECOM_ADMIN_USERS", frozenset({"zhangsan"}))
    await add_groups(app.store, app.clock.now(), ("财务部", True))
    wecom = {"channel": "wecom", "user": "zhangsan", "chat": "zhangsan"}
    assert "请指定群" in (await say(app, "/remind in 30m 开会", **wecom))[0]
    assert "没有名为“销售部”的群" in (await say(app, "/remind @销售部 in 30m 开会", **wecom))[0]
    assert (await say(app, "/remind @财务部 明天9:00 重新查验", **wecom))[0].startswith("已设置提醒")
    (reminder,) = await app.store.reminders()
    assert (reminder.channel, reminder.chat, reminder.text) == ("wecom", "group:财务部", "重新查验")
    assert "财务部" in (await say(app, "/reminders", **wecom))[0]


async def test_regional_outage_asks_where_the_user_is_and_remembers(app):
    await Outages(app.store, app.catalog, app.calendar).start(
        pick_system(app.catalog, None), "发票系统维护", "北京", None, None, app.clock.now()
    )
    app._outages = (0.0, ())  # forget the cached "no outage"
    for text in ["发票查不到", "4", "3", "4", "跳过"]:
        await say(app, text, user="42", chat="42")
    (question,) = await say(app, "5", user="42", chat="42")
    assert "您所在的地区是" in question and "北京" in question
    (diagnosis,) = await say(app, "北京市", user="42", chat="42")
    assert "管理员已通报故障" in diagnosis  # the outage counts: same place
    assert await app.store.region_of("telegram:42") == "北京"  # "北京市" picked the 北京 option
    for text in ["/restart", "发票查不到", "4", "3", "4", "跳过"]:
        await say(app, text, user="43", chat="43")
    (question,) = await say(app, "5", user="43", chat="43")
    (diagnosis,) = await say(app, "2", user="43", chat="43")  # somewhere else
    assert "管理员已通报故障" not in diagnosis
    assert await app.store.region_of("telegram:43") is None


async def test_record_flow_checks_each_field_and_lists_the_records(app):
    chat = {"user": "42", "chat": "42"}
    assert "发送发票号码" in (await say(app, "/record", **chat))[0]
    assert "看起来不对" in (await say(app, "99112000000016430745", **chat))[0]
    assert "金额是多少" in (await say(app, "24112000000016430745", **chat))[0]
    assert "金额请写成数字" in (await say(app, "一千元", **chat))[0]
    assert "开票日期" in (await say(app, "¥1,234.5", **chat))[0]
    assert "不能晚于今天" in (await say(app, "20991231", **chat))[0]
    assert "交易对方" in (await say(app, "20260301", **chat))[0]
    assert "校验位不符" in (await say(app, "91350100M000100Y44", **chat))[0]
    (saved,) = await say(app, "91350100M000100Y43", **chat)
    assert "已记录：24112000000016430745　1234.50　2026-03-01　91350100M000100Y43" in saved
    (listing,) = await say(app, "/records", **chat)
    assert "（1 张）" in listing and "1234.50" in listing
    assert "已取消记录" in (await say(app, "/record", **chat) and await say(app, "取消", **chat))[0]


async def test_long_group_messages_are_split_for_the_platform(app):
    store, now = app.store, app.clock.now()
    await add_groups(store, now, ("财务部", True))
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    await service.start(book, "维护", None, None, None, now)
    for i in range(60):  # a long outage: many invoices recorded by hand
        await store.add_record("telegram:42", f"2411200000001643{i:04d}", "1234.50", "2026-03-02", "某某有限公司", now)
    await service.resolve(book, now)
    parts = [p["content"] for p in await deliver_all(store, "wecom", now)][1:]  # after the start notice
    assert len(parts) > 1 and all(len(part.encode()) <= 2048 for part in parts)
    assert "2411200000001643" + "0059" in "".join(parts)


async def test_a_promised_update_that_does_not_come_is_told_to_groups_and_admins_once(app):
    store, clock = app.store, app.clock
    await add_groups(store, clock.now(), ("财务部", True))
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    promised = datetime.fromisoformat("2026-03-02T11:00:00+08:00")
    _, announcement = await service.start(book, "查验平台维护", None, None, None, clock.now(), next_update=promised)
    assert "下次更新：11:00 前" in announcement.text and "Next update by: 11:00" in announcement.text
    await deliver_all(store, "wecom", clock.now())
    assert app.platforms.admin_chats() == []  # no platform configured: nobody to tell
    admins = Rules(load_settings(TELEGRAM_BOT_TOKEN="1:token", TELEGRAM_ADMIN_IDS="1001,-5")).admin_chats()
    assert admins == [("telegram", ADMIN)]  # one-to-one chats only: a negative id is a group
    clock.advance(minutes=59)
    assert await service.tell_overdue(clock.now(), admins) == 0  # not yet
    clock.advance(minutes=2)
    assert await service.tell_overdue(clock.now(), admins) == 1
    assert await service.tell_overdue(clock.now(), admins) == 0  # once per promise
    (group,) = await deliver_all(store, "wecom", clock.now())
    assert "【故障仍在处理】查验平台维护" in group["text"] and "原定 11:00 前的进展" in group["text"]
    (nudge,) = await deliver_all(store, "telegram", clock.now())
    assert "原定 11:00 前发布进展，还没有发布" in nudge["text"] and "/outage update" in nudge["text"]
    # an update keeps the promise and may make a new one, in chat too
    replies = await say(app, "/outage update 已定位问题，正在恢复 下次更新 12:30")
    assert "已更新故障进展" in replies[0]
    (outage,) = await store.open_outages()
    assert outage.summary == "已定位问题，正在恢复" and outage.overdue_told_at is None
    assert outage.next_update_at == datetime.fromisoformat("2026-03-02T12:30:00+08:00")
    (update,) = await deliver_all(store, "wecom", clock.now())
    assert "下次更新：12:30 前" in update["text"]
    clock.advance(hours=2)
    assert await service.tell_overdue(clock.now(), admins) == 1


async def test_an_update_without_a_promise_owes_none(app):
    store, clock = app.store, app.clock
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    await service.start(book, "维护", None, None, None, clock.now(), next_update=clock.now())
    await service.update(book, "恢复中", None, clock.now())
    clock.advance(hours=5)
    assert await service.tell_overdue(clock.now(), app.platforms.admin_chats()) == 0


async def test_an_outage_of_some_components_counts_only_for_what_they_cause(app):
    store, clock = app.store, app.clock
    await add_groups(store, clock.now(), ("财务部", True))
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    parts = pick_components(book, ["乐企", "Verify", "开票软件"])
    assert parts == ("verify", "leqi", "software")  # the playbook's order, whatever was typed
    with pytest.raises(OutageError, match=r"no component '打印机'.*verify"):
        pick_components(book, ["打印机"])
    outage, announcement = await service.start(
        book, "乐企上传失败", "北京,上海", None, None, clock.now(), components=("leqi",)
    )
    assert outage.components == ("leqi",) and outage.region == "北京、上海"
    assert "（影响：乐企直连）（地区：北京、上海）" in announcement.text and "(affects: direct connection (乐企))" in (
        announcement.text)  # fmt: skip
    # who is affected: a blank query can come from 乐企; an unreachable portal can't
    blank = await say(app, "发票查不到", user="3003", chat="3003")
    assert any("乐企上传失败（影响：乐企直连）" in r for r in blank)
    portal = await say(app, "电子税务局打不开", user="4004", chat="4004")
    assert not any("乐企上传失败" in r for r in portal)


async def test_the_first_message_during_an_outage_hears_of_it_before_anything_else(app):
    service = Outages(app.store, app.catalog, app.calendar)
    await service.start(pick_system(app.catalog, None), "查验平台维护", "北京", None, None, app.clock.now())
    (first,) = await say(app, "你好", user="5005", chat="5005")
    assert first.index("查验平台维护（北京）") < first.index("请选择您遇到的情况")
    await app.store.set_region("telegram:6006", "上海", app.clock.now())
    (elsewhere,) = await say(app, "你好", user="6006", chat="6006")
    assert "查验平台维护" not in elsewhere  # the notice is for Beijing; this person is in Shanghai


async def test_anyone_subscribes_in_their_own_chat_to_the_parts_and_province_they_care_about(app):
    store, clock = app.store, app.clock
    (asked,) = await say(app, "/subscribe", user="7001", chat="7001")  # alone: a short conversation
    assert "想在这里收到哪些部分的故障通知" in asked and "查验平台 乐企 北京" in asked
    (refused,) = await say(app, "/subscribe 打印机", user="7001", chat="7001")
    assert "“打印机”既不是系统的组成部分，也不是省份" in refused
    (done,) = await say(app, "/subscribe 乐企 查验平台 北京市", user="7001", chat="7001")
    assert "已订阅：查验平台、乐企直连（北京）" in done
    await say(app, "/subscribe 电子税务局", user="7002", chat="7002")  # another part only
    await say(app, "/subscribe 全部 上海", user="7003", chat="7003")  # another province only
    await say(app, "/subscribe all", user="7004", chat="7004", channel="wecom")  # everything, everywhere
    assert "您订阅了：查验平台、乐企直连（北京）" in (await say(app, "/subscriptions", user="7001", chat="7001"))[0]
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    _, announcement = await service.start(book, "乐企上传失败", "北京", None, None, clock.now(), components=("leqi",))
    assert sorted(p.user for p in announcement.people) == ["telegram:7001", "wecom:7004"]
    told = {m["text"].split("\n")[0] for m in await deliver_all(store, "telegram", clock.now())}
    assert told == {"【发票系统故障通报】乐企上传失败（影响：乐企直连）（地区：北京）"}
    assert len(await deliver_all(store, "wecom", clock.now())) == 1
    _, resolved = await service.resolve(book, clock.now())
    assert len(resolved.people) == 2  # and the recovery
    assert "已取消订阅" in (await say(app, "/unsubscribe", user="7001", chat="7001"))[0]
    assert "还没有订阅" in (await say(app, "/subscriptions", user="7001", chat="7001"))[0]
    await store.forget_user("wecom", "7004")  # /forget takes the subscription too
    assert [s.user for s in await store.subscriptions()] == ["telegram:7002", "telegram:7003"]


async def test_a_maintenance_window_is_announced_reminded_opened_and_closed_by_itself_once(app):
    store, clock = app.store, app.clock
    await add_groups(store, clock.now(), ("财务部", True))
    await say(app, "/subscribe 数电", user="8001", chat="8001")
    outages = Outages(store, app.catalog, app.calendar)
    windows, book = MaintenanceWindows(outages), pick_system(app.catalog, None)
    at = lambda hhmm: datetime.fromisoformat(f"2026-03-02T{hhmm}:00+08:00")  # noqa: E731
    window, announcement = await windows.schedule(
        book, "数电平台升级", ("digital",), None, at("20:00"), at("22:00"), False, clock.now()
    )
    assert "【维护预告】数电平台升级（影响：电子发票服务平台（数电））" in announcement.text
    assert "时间：2026-03-02 20:00 至 2026-03-02 22:00" in announcement.text and len(announcement.people) == 1
    assert len(await deliver_all(store, "wecom", clock.now())) == 1
    assert len(await deliver_all(store, "telegram", clock.now())) == 1
    heard = []
    for moment in ("19:29", "19:31", "19:40", "20:00", "20:01", "22:00", "22:05"):
        steps = await windows.tick(at(moment))
        heard.append((moment, steps, [m["text"][:8] for m in await deliver_all(store, "wecom", at(moment))]))
    assert heard == [
        ("19:29", 0, []), ("19:31", 1, ["【维护即将开始】"]), ("19:40", 0, []), ("20:00", 1, ["【发票系统故障通"]),
        ("20:01", 0, []), ("22:00", 1, ["【发票系统已恢复"]), ("22:05", 0, []),
    ]  # fmt: skip
    assert await store.open_outages() == [] and await store.maintenance_ahead() == []
    assert window.id and len(await deliver_all(store, "telegram", at("22:05"))) == 3  # the subscriber heard too


async def test_a_quiet_window_opens_and_closes_unannounced_and_a_cancelled_one_does_nothing(app):
    store = app.store
    await add_groups(store, app.clock.now(), ("财务部", True))
    outages = Outages(store, app.catalog, app.calendar)
    windows, book = MaintenanceWindows(outages), pick_system(app.catalog, None)
    at = lambda hhmm: datetime.fromisoformat(f"2026-03-02T{hhmm}:00+08:00")  # noqa: E731
    await windows.schedule(book, "夜间维护", (), "北京", at("20:00"), at("21:00"), True, app.clock.now())
    cancelled, _ = await windows.schedule(
        book, "取消的维护", (), None, at("23:00"), at("23:30"), False, app.clock.now()
    )
    assert await windows.cancel(cancelled.id, app.clock.now()) and not await windows.cancel(
        cancelled.id, app.clock.now()
    )
    await deliver_all(store, "wecom", at("19:00"))
    await windows.tick(at("20:00"))
    (opened,) = await store.open_outages()
    assert opened.summary == "夜间维护" and opened.region == "北京"
    await windows.tick(at("21:00"))
    assert await store.open_outages() == []
    assert await windows.tick(at("23:10")) == 0
    assert await deliver_all(store, "wecom", at("23:59")) == []  # nothing announced: quiet, and cancelled
    with pytest.raises(OutageError, match="starts in the future"):
        await windows.schedule(book, "过去", (), None, at("09:00"), at("11:00"), False, app.clock.now())


async def test_a_window_meeting_an_open_outage_leaves_it_to_its_admins(app):
    outages = Outages(app.store, app.catalog, app.calendar)
    windows, book = MaintenanceWindows(outages), pick_system(app.catalog, None)
    at = lambda hhmm: datetime.fromisoformat(f"2026-03-02T{hhmm}:00+08:00")  # noqa: E731
    await windows.schedule(book, "计划维护", (), None, at("12:00"), at("13:00"), False, app.clock.now())
    declared, _ = await outages.start(book, "意外故障", None, None, None, at("11:00"))
    await windows.tick(at("12:00"))
    await windows.tick(at("13:00"))
    assert [o.id for o in await app.store.open_outages()] == [declared.id]  # not the window's to close


async def test_maintenance_from_chat_and_the_cli(app, tmp_path):
    (reply,) = await say(app, "/outage schedule 20:00 22:00 数电平台升级")
    assert "已预告维护窗口 #1" in reply
    assert "只有管理员" in (await say(app, "/outage schedule 20:00 22:00 x", user=MEMBER))[0]
    (refused,) = await say(app, "/outage schedule 25:00 26:00 升级")
    assert "无法预告维护" in refused or "用法" in refused
    env = {"OUTAGE_BOT_DB": str(tmp_path / "cli.db")}
    day = (datetime.now(app.settings.tz) + timedelta(days=2)).date().isoformat()  # the CLI runs on today's clock
    dry = run("outage", "schedule", "--summary", "查验平台升级", "--from", f"{day}T20:00", "--until", "22:00",
              "--component", "verify", "--dry-run", env=env)  # fmt: skip
    assert dry.returncode == 0 and "【维护预告】查验平台升级（影响：查验平台）" in dry.stdout
    assert f"{day} 20:00 至 {day} 22:00" in dry.stdout
    made = run("outage", "schedule", "--summary", "升级", "--from", f"{day}T20:00", "--until", "02:00", env=env)
    assert made.returncode == 0 and "maintenance window #1" in made.stdout
    listed = json.loads(run("outage", "windows", "--json", env=env).stdout)
    assert [(w["id"], w["summary"], w["running"]) for w in listed] == [(1, "升级", False)]
    assert run("outage", "unschedule", "1", env=env).returncode == 0
    assert run("outage", "unschedule", "1", env=env).returncode == 1
    bad = run("outage", "schedule", "--summary", "x", "--from", "2000-01-01T00:00", "--until", "01:00", env=env)
    assert bad.returncode == 1 and "past" in bad.stderr


async def test_a_failing_periodic_duty_neither_stops_the_worker_nor_the_other_duties(app):
    from bot.runtime.worker import DUTIES_EVERY, Worker

    worker = Worker(app.store, app.dispatcher, app.clock, lambda: None, app.calendar)
    ran = []

    async def broken(now):
        raise RuntimeError("a bug")

    async def fine(now):
        ran.append(now)
        return 1

    worker.duties += [broken, fine]
    await worker.tick()
    await worker.tick()  # within DUTIES_EVERY: not again
    app.clock.advance(seconds=DUTIES_EVERY.seconds)
    await worker.tick()
    assert len(ran) == 2


async def test_after_recovery_each_person_who_talked_about_it_is_asked_the_next_working_morning(app):
    store, clock = app.store, app.clock
    service = Outages(store, app.catalog, app.calendar)
    book = pick_system(app.catalog, None)
    await service.start(book, "乐企上传失败", None, None, None, clock.now(), components=("leqi",))
    await say(app, "发票查不到", user="9001", chat="9001")  # blank query: 乐企 can cause it
    await say(app, "/record", user="9001", chat="9001")
    for answer in ("24112000000016430745", "113", "今天", "某某公司"):
        await say(app, answer, user="9001", chat="9001")
    await say(app, "电子税务局打不开", user="9002", chat="9002")  # not what 乐企 causes
    await say(app, "发票查不到", user="9003")  # in a group: not followed up one-to-one
    clock.advance(hours=2)
    await service.resolve(book, clock.now())
    await deliver_all(store, "telegram", clock.now())
    tomorrow = datetime.fromisoformat("2026-03-03T09:00:00+08:00")
    clock.set(tomorrow - timedelta(minutes=1))
    assert await fire_due(store, clock) == []
    clock.set(tomorrow)
    assert len(await fire_due(store, clock)) == 1
    await app.dispatcher.drain()
    (asked,) = await deliver_all(store, "telegram", clock.now())
    assert "【恢复后核对】“乐企上传失败”已于 2026-03-02 12:00 恢复" in asked["text"]
    assert "24112000000016430745 113.00 2026-03-02" in asked["text"]
    assert [o["key"] for o in asked["options"]][:2] == ["recheck_fine", "recheck_missing"]
    (reply,) = await say(app, "还有查不到的", user="9001", chat="9001")
    assert "主管税务机关" in reply
    (feedback,) = await store.db.execute_fetchall("SELECT outcome FROM feedback")
    assert feedback == ("recheck_missing",)


async def _reports(app, when: datetime, symptom_text: str, users: range, channel="telegram"):
    """People describing a problem, one-to-one, at `when` (through the engine, as they would)."""
    app.clock.set(when)
    for user in users:
        await say(app, symptom_text, user=str(user), chat=str(user), channel=channel)
        app.clock.set(when)


async def test_a_burst_of_people_describing_one_symptom_alerts_the_admins_once(app, monkeypatch):
    store = app.store
    outages = Outages(store, app.catalog, app.calendar)
    admins = [("telegram", ADMIN)]
    watch = CrowdWatch(outages, CrowdRule(min_reports=5, window=timedelta(minutes=10), factor=3.0), lambda: admins)
    day = datetime.fromisoformat("2026-03-01T10:00:00+08:00")
    for hour in range(0, 20, 2):  # the day before: one person every two hours, the usual trickle
        await _reports(app, day + timedelta(hours=hour), "发票查不到", range(100 + hour, 101 + hour))
    burst = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
    await _reports(app, burst, "开出去的发票对方查不到，号码 24112000000016430745", range(200, 204))
    await _reports(app, burst, "电子税务局打不开", range(300, 303))  # another symptom, fewer people
    assert await watch.tick(burst + timedelta(minutes=1)) == 0  # four people: not yet
    await _reports(app, burst + timedelta(minutes=3), "查验平台提示查无此票", range(204, 206))
    await deliver_all(store, "telegram", burst)
    assert await watch.tick(burst + timedelta(minutes=4)) == 1
    (alert,) = await store.open_alerts()
    assert (alert.symptom, alert.reports) == ("blank_query", 6) and alert.usual < 1
    assert all("24112000000016430745" not in s for s in alert.samples) and alert.samples
    (message,) = await deliver_all(store, "telegram", burst + timedelta(minutes=4))
    assert "【可能有故障 #1】最近 10 分钟有 6 人反映“发票查不到 / 查询结果为空”" in message["text"]
    assert message["options"][0]["key"] == "alert_declare:1"
    await _reports(app, burst + timedelta(minutes=5), "发票查不到", range(206, 212))
    assert await watch.tick(burst + timedelta(minutes=6)) == 0  # the open alert holds back a repeat
    # one tap declares it: the button's press reaches operations, as on Telegram or WeCom
    key = ConversationKey("telegram", ADMIN, ADMIN)
    await app.dispatcher.submit("telegram", "press-1", Inbound(key, app.clock.now(), choice="alert_declare:1"))
    await app.dispatcher.drain()
    (declared,) = await deliver_all(store, "telegram", app.clock.now())
    assert "已发布故障通报（编号 1）" in declared["text"]
    (outage,) = await store.open_outages()
    assert outage.summary == "多人反映：发票查不到 / 查询结果为空（正在核实）"
    assert (await store.alert(1)).outage_id == outage.id and await store.open_alerts() == []
    assert "已不存在或已处理" in (await say(app, "/outage declare 1"))[0]


async def test_where_people_always_report_a_symptom_the_usual_level_keeps_alerts_away(app):
    outages = Outages(app.store, app.catalog, app.calendar)
    watch = CrowdWatch(outages, CrowdRule(min_reports=3, window=timedelta(minutes=10), factor=3.0), lambda: [])
    day = datetime.fromisoformat("2026-03-01T09:00:00+08:00")
    for slot in range(0, 60 * 8, 10):  # a busy desk: 3 people every 10 minutes, all day
        await _reports(app, day + timedelta(minutes=slot), "发票查不到", range(1000 + slot, 1003 + slot))
    now = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
    await _reports(app, now, "发票查不到", range(5000, 5004))  # four: more than the minimum, as usual
    assert await watch.tick(now + timedelta(minutes=1)) == 0
    await _reports(app, now + timedelta(minutes=2), "发票查不到", range(5004, 5012))  # twelve: four times usual
    assert await watch.tick(now + timedelta(minutes=3)) == 1


def test_declaring_from_the_cli(tmp_path):
    env = {"OUTAGE_BOT_DB": str(tmp_path / "a.db")}
    missing = run("outage", "start", "--from-alert", "7", env=env)
    assert missing.returncode == 1 and "no open alert #7" in missing.stderr
    empty = run("outage", "start", env=env)
    assert empty.returncode == 1 and "summary is empty" in empty.stderr


async def test_a_crowd_alert_offers_a_button_only_where_one_can_be_pressed(app):
    outages = Outages(app.store, app.catalog, app.calendar)
    admins = [("telegram", ADMIN), ("wecom", "caiwu")]
    rules = Rules(load_settings())
    watch = CrowdWatch(outages, CrowdRule(min_reports=2), lambda: admins, rules.presses_anywhere)
    now = app.clock.now()
    await _reports(app, now, "发票查不到", range(400, 403))
    await deliver_all(app.store, "telegram", now)
    later = now + timedelta(minutes=1)
    assert await watch.tick(later) == 1
    (telegram,) = await deliver_all(app.store, "telegram", later)
    (wecom,) = await deliver_all(app.store, "wecom", later)
    assert telegram["options"] and not wecom["options"]  # WeCom app options are typed numbers
    assert "/outage declare 1" in wecom["text"]


async def test_subscribe_asks_which_parts_and_where_and_takes_a_press_or_words(app):
    store = app.store
    (asked,) = await say(app, "/subscribe", user="7101", chat="7101")
    assert "可选：查验平台、电子发票服务平台（数电）、乐企直连" in asked
    (answer,) = await say(app, "查验平台 乐企 北京", user="7101", chat="7101")
    assert "已订阅：查验平台、乐企直连（北京）" in answer
    (subscription,) = await store.subscriptions("telegram:7101")
    assert (subscription.components, subscription.region) == (("verify", "leqi"), "北京")
    await say(app, "/subscribe", user="7102", chat="7102")
    (unknown,) = await say(app, "打印机", user="7102", chat="7102")
    assert "“打印机”既不是系统的组成部分，也不是省份" in unknown
    key = ConversationKey("telegram", "7102", "7102")
    await app.dispatcher.submit("telegram", "press-all", Inbound(key, app.clock.now(), choice="subscribe_all"))
    await app.dispatcher.drain()
    (pressed,) = [p for p in await deliver_all(store, "telegram", app.clock.now()) if p.get("user") == "7102"]
    assert "已订阅：全部部分（全部地区）" in pressed["text"]
    await say(app, "/subscribe", user="7103", chat="7103")
    assert "没有订阅" in (await say(app, "算了", user="7103", chat="7103"))[0]
    assert [s.user for s in await store.subscriptions()] == ["telegram:7101", "telegram:7102"]
