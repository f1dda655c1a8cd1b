"""The store's contract, run against every backend: SQLite on a real file, PostgreSQL on a real
server (a schema of its own per test)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.engine.types import Answer, ConversationKey, ConversationState, Inbound
from bot.store.base import Group, GroupExists, OutageConflict, OutboundMessage, Subscription, Turn
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from tests.conftest import NOW, deliver_all
from tests.postgres import drop_schema, fresh_schema_url

KEY = ConversationKey("console", "chat", "user")


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    schema = None
    if request.param == "postgres":
        url, schema = fresh_schema_url()
        backend = PostgresStore(url)
    else:
        backend = SqliteStore(tmp_path / "store.db")
    await backend.open()
    yield backend
    await backend.close()
    if schema is not None:
        await drop_schema(schema)


def inbound(text: str = "hi") -> Inbound:
    return Inbound(KEY, NOW, text=text, lang_hint="zh")


async def test_accept_dedupes_per_channel(store):
    first = await store.accept("wecom", "msg-1", inbound())
    assert first is not None
    assert await store.accept("wecom", "msg-1", inbound("again")) is None
    assert await store.accept("telegram", "msg-1", inbound()) is not None
    rows = await store.unfinished()
    assert [r.dedupe_key for r in rows] == ["msg-1", "msg-1"]
    assert rows[0].inbound == inbound()


async def test_accept_many_in_one_call_dedupes_within_it_too(store):
    ids = await store.accept_many(
        [("wecom", "a", inbound("1")), ("wecom", "b", inbound("2")), ("wecom", "a", inbound("1 again"))]
    )
    assert ids[0] is not None and ids[1] is not None and ids[2] is None
    assert await store.accept_many([("wecom", "b", inbound()), ("wecom", "c", inbound())]) == [None, ids[1] + 1]
    assert [r.inbound.text for r in await store.unfinished()] == ["1", "2", "hi"]


async def test_commit_many_applies_a_conversations_turns_in_order(store):
    first, second = await store.accept_many([("console", "m1", inbound("1")), ("console", "m2", inbound("2"))])
    due = NOW + timedelta(hours=1)
    turns = [
        Turn(first, KEY, ConversationState(node="q_when"), timers=[("remind", due, {})], said="1"),
        Turn(second, KEY, ConversationState(node="q_upload"), cancel_timers=["remind"], said="2"),
    ]
    await store.commit_many(turns, NOW)
    assert (await store.load(KEY)).node == "q_upload"
    assert await store.due_timers(due) == []  # set by the first turn, cancelled by the second
    assert await store.unfinished() == [] and await store.count("transcript") == 2


async def test_commit_is_one_turn(store):
    inbox_id = await store.accept("console", "m1", inbound())
    state = ConversationState(node="q_where", symptom="blank_query", answers=(Answer("q_where", "今天", key="today"),))
    reply = OutboundMessage("console", "chat", {"text": "你好", "options": []}, str(KEY))
    turn = Turn(
        inbox_id,
        KEY,
        state,
        [reply],
        [("remind:x", NOW + timedelta(hours=1), {"text": {"zh": "提醒"}})],
        said="hi",
        answer="→q_where",
    )
    await store.commit(turn, NOW)
    assert await store.load(KEY) == state
    assert await store.unfinished() == []
    assert [p["text"] for p in await deliver_all(store, "console", NOW)] == ["你好"]
    assert await store.count("transcript") == 1 and await store.count("inbox") == 0
    assert await store.accept("console", "m1", inbound()) is None  # done, and still recognised


async def test_a_failed_commit_changes_nothing(store):
    inbox_id = await store.accept("console", "m1", inbound())
    bad = Turn(inbox_id, KEY, ConversationState(), [OutboundMessage("console", "chat", {"x": object()})])
    with pytest.raises(TypeError):
        await store.commit(bad, NOW)
    assert await store.load(KEY) is None
    assert len(await store.unfinished()) == 1
    assert await store.count("outbox") == 0


async def test_outbox_keeps_each_chats_order_through_retries(store):
    inbox_id = await store.accept("console", "m1", inbound())
    messages = [
        OutboundMessage("console", chat, {"text": text}) for chat, text in [("a", "a1"), ("a", "a2"), ("b", "b1")]
    ]
    await store.commit(Turn(inbox_id, KEY, ConversationState(), messages), NOW)
    heads = await store.pending("console", NOW)
    assert [r.message.payload["text"] for r in heads] == ["a1", "b1"]  # one per chat, oldest first
    a1, b1 = heads
    await store.mark_retry(a1.id, NOW + timedelta(seconds=30), "429 Too Many Requests")
    await store.mark_sent(b1.id, NOW)
    assert await store.pending("console", NOW) == []  # a2 waits behind a1
    (retried,) = await store.pending("console", NOW + timedelta(seconds=31))
    assert (retried.id, retried.attempts) == (a1.id, 1)
    await store.mark_failed(retried.id, NOW, "403 Forbidden: bot was blocked by the user")
    (after,) = await store.pending("console", NOW + timedelta(seconds=31), chat="a")
    assert after.message.payload["text"] == "a2"
    assert await store.pending("console", NOW, chat="another chat") == []


async def test_a_timer_fires_once(store):
    inbox_id = await store.accept("console", "m1", inbound())
    due = NOW + timedelta(minutes=10)
    await store.commit(Turn(inbox_id, KEY, ConversationState(), timers=[("t", due, {"n": 1})]), NOW)
    assert await store.due_timers(NOW) == []
    (timer,) = await store.due_timers(due)
    fired = Inbound(KEY, due, kind="timer", payload=timer.payload)
    assert await store.fire(timer, fired) is not None
    assert await store.fire(timer, fired) is None
    assert await store.due_timers(due + timedelta(days=1)) == []


async def test_cancelling_a_timer(store):
    inbox_id = await store.accept("console", "m1", inbound())
    await store.commit(Turn(inbox_id, KEY, ConversationState(), timers=[("t", NOW, {})]), NOW)
    second = await store.accept("console", "m2", inbound())
    await store.commit(Turn(second, KEY, ConversationState(), cancel_timers=["t"]), NOW)
    assert await store.due_timers(NOW + timedelta(days=1)) == []


async def test_groups_by_name_and_address(store):
    await store.add_group(Group("财务部", "wecom", "wecom_robot", "key-1"), NOW)
    with pytest.raises(GroupExists):
        await store.add_group(Group("财务部", "telegram", "telegram_group", "-100"), NOW)
    assert (await store.group_at("wecom", "key-1")).name == "财务部"
    await store.set_subscribed("财务部", False)
    assert (await store.group("财务部")).subscribed is False
    assert await store.remove_group("财务部") and not await store.remove_group("财务部")
    assert await store.groups() == []


async def test_one_open_outage_per_system_and_reminders_fired_once(store):
    outage = await store.start_outage("invoice", "查验平台维护", "北京", "20:00", None, NOW)
    with pytest.raises(OutageConflict):
        await store.start_outage("invoice", "again", None, None, None, NOW)
    updated = await store.update_outage(outage.id, "预计 20:00 恢复", "20:00", NOW + timedelta(minutes=5))
    assert updated.summary == "预计 20:00 恢复" and [o.id for o in await store.open_outages()] == [outage.id]
    due = NOW + timedelta(hours=2)
    rid = await store.add_reminder("plan", "wecom", "group:财务部", "提醒", due, 7200.0, NOW, True, outage.id)
    await store.retext_plan_reminders(outage.id, "新提醒")
    (reminder,) = await store.due_reminders(due)
    assert (reminder.id, reminder.text, reminder.working_hours) == (rid, "新提醒", True)
    message = OutboundMessage("wecom", "group:财务部", {"text": "新提醒"})
    assert await store.fire_reminder(reminder, message, due + timedelta(hours=2), due)
    assert not await store.fire_reminder(reminder, message, due + timedelta(hours=2), due)  # a second process
    assert await store.count("outbox") == 1
    assert await store.cancel_reminder(rid, due) and await store.reminders() == []
    await store.resolve_outage(outage.id, due)
    assert await store.open_outages() == []


async def test_outage_promises_components_and_personal_subscriptions(store):
    promised = NOW + timedelta(hours=1)
    outage = await store.start_outage("invoice", "乐企", "北京、上海", None, None, NOW, promised, ("leqi", "verify"))
    assert (outage.components, outage.next_update_at) == (("leqi", "verify"), promised)
    assert await store.overdue_outages(promised - timedelta(seconds=1)) == []
    (late,) = await store.overdue_outages(promised)
    assert await store.mark_overdue_told(late.id, promised) and not await store.mark_overdue_told(late.id, promised)
    assert await store.overdue_outages(promised) == []
    assert [o.id for o in await store.outages_since(NOW)] == [outage.id]
    mine = Subscription("telegram:42", "telegram", "42", ("verify",), "北京")
    await store.subscribe_person(mine, NOW)
    await store.subscribe_person(replace(mine, components=(), region=None), NOW)  # changed, not doubled
    await store.subscribe_person(Subscription("wecom:zhang", "wecom", "zhang"), NOW)
    assert await store.subscriptions("telegram:42") == [Subscription("telegram:42", "telegram", "42")]
    assert len(await store.subscriptions()) == 2
    assert await store.unsubscribe_person("telegram:42") and not await store.unsubscribe_person("telegram:42")


async def test_a_case_is_claimed_once_and_found_by_its_message(store):
    case = await store.open_case(str(KEY), "console", "发票查不到", NOW)
    assert await store.open_case(str(KEY), "console", "again", NOW) is None  # one open case per conversation
    assert await store.conversations_with_open_case([str(KEY), "console:x:x"]) == {str(KEY)}
    inbox_id = await store.accept("console", "m1", inbound())
    announce = OutboundMessage("telegram", "-100", {"text": "#1", "case_id": case.id})
    await store.commit(Turn(inbox_id, KEY, ConversationState(), [announce]), NOW)
    (row,) = await store.pending("telegram", NOW)
    await store.mark_sent(row.id, NOW, sent_ref="555", keep=True)
    assert await store.case_for_message("telegram", "-100", "555") == case.id
    assert [c.id for c in await store.unclaimed_before(NOW + timedelta(minutes=1))] == [case.id]
    assert await store.claim_case(case.id, "telegram:7", "王会计", NOW)
    assert not await store.claim_case(case.id, "telegram:8", "李会计", NOW)
    assert [c.id for c in await store.cases_of_agent("telegram:7")] == [case.id]
    assert await store.close_case(case.id, NOW) and await store.count_open_cases() == 0


async def test_forget_and_purge(store):
    inbox_id = await store.accept("console", "m1", inbound())
    await store.commit(Turn(inbox_id, KEY, ConversationState(node="q_when"), said="hi", region="北京"), NOW)
    await store.add_record("console:user", "12345678", "100.00", "2026-03-01", "某公司", NOW)
    assert await store.region_of("console:user") == "北京" and len(await store.records(user="console:user")) == 1
    await store.forget_user("console", "user")
    assert await store.load(KEY) is None and await store.records(user="console:user") == []
    assert await store.region_of("console:user") is None and await store.count("transcript") == 0
    later = NOW + timedelta(days=30)
    removed = await store.purge(later, later)
    assert removed["seen"] == 1 and await store.accept("console", "m1", inbound()) is not None


async def test_who_talked_during_a_span_and_a_timer_set_twice_is_one(store):
    one_to_one, group = ConversationKey("telegram", "42", "42"), ConversationKey("telegram", "-100", "43")
    for number, key in enumerate((one_to_one, group)):
        await store.accept("telegram", str(number), Inbound(key, NOW, text="发票查不到"))
    for row in await store.claim():
        await store.commit(Turn(row.id, row.inbound.key, ConversationState(node="q_where", symptom="blank_query")), NOW)
    span = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert await store.talked_during(*span) == [("telegram", "42", "42", "blank_query")]  # one-to-one only
    assert await store.talked_during(NOW + timedelta(minutes=1), NOW + timedelta(hours=1)) == []
    for _ in range(2):
        await store.add_timer(str(one_to_one), "followup:1", NOW, {"kind": "followup"})
    assert await store.count("timers") == 1
