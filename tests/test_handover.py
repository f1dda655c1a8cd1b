"""Case summary, handover, feedback, /forget, retention, backup and stats, in process with a manual clock."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import datetime, timedelta

import pytest

from bot.app import open_app
from bot.cli.admin import collect_stats
from bot.config import load_settings
from bot.engine.types import ConversationKey, Inbound
from bot.logs import JsonFormatter, Redactor
from bot.store.sqlite import SqliteStore
from tests.test_engine import talk

MONDAY = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
SUPPORT = "-100999"


@pytest.fixture
async def app(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "handover.db"))
    monkeypatch.setenv("SUPPORT_TELEGRAM_CHAT_ID", SUPPORT)
    monkeypatch.setenv("SUPPORT_WECOM_USERS", "agentw")
    from bot.runtime.clock import ManualClock

    application = await open_app(load_settings(), clock=ManualClock(MONDAY))
    yield application
    await application.close()


async def say(app, text=None, user="42", chat=None, channel="telegram", choice=None, reply_to=None, name=None):
    key = ConversationKey(channel, chat or user, user)
    inbound = Inbound(
        key,
        app.clock.now(),
        text=text,
        choice=choice,
        lang_hint="zh",
        reply_to=reply_to,
        user_name=name or (user if channel == "wecom" else f"U{user}"),
    )
    await app.dispatcher.submit(channel, f"{user}-{app.clock.now().timestamp()}-{text}-{choice}", inbound)
    await app.dispatcher.drain()
    app.clock.advance(seconds=1)


async def outbox(app):
    """Everything sent since the last call, as (channel, chat, text)."""
    sent = []
    for channel in ("telegram", "wecom"):
        sent += [
            (channel, p["chat"], p["text"]) for p in await deliver_all_with_chat(app.store, channel, app.clock.now())
        ]
    return sent


async def deliver_all_with_chat(store, channel, now):
    payloads = []
    while rows := await store.pending(channel, now):
        for row in rows:
            payloads.append({**row.message.payload, "chat": row.message.chat})
            case_message = row.message.payload.get("case_id") is not None
            await store.mark_sent(row.id, now, f"m{row.id}" if case_message else None, keep=case_message)
    return payloads


# ---- the summary (pure) ------------------------------------------------------------------------


def test_summary_of_a_full_conversation(catalog):
    messages = [
        "发票查不到了，急",
        "3",
        "91350100M000100Y43",
        "2",
        "4",
        "1100231130 12345678",
        "5",
        "1",
        ("press", "done"),
        "/summary",
    ]
    state, reply, _ = talk(catalog, messages)
    text = reply.text
    assert text.startswith("【问题摘要】")
    for fragment in (
        "问题: 发票查不到 / 查询结果为空",
        "用户原话: “发票查不到了，急”",
        "首次反馈: 2026-03-02 10:00",
        "已回答: 购买方的发票列表里没有这张票；昨天或更早；不清楚；不清楚",
        "发票号码: 1100231130 12345678 (增值税专用发票)",
        "税号: 91350100********43 ✓",
        "可能原因: 发票尚未上传",
        "1. 在开票软件中查看上传状态 (已完成)",
        "2. 手动上传 (未做)",
        "联系前请准备: 错误提示原文",
    ):
        assert fragment in text, fragment
    _, full, _ = talk(catalog, ["/summary full"], state=state)
    assert "税号: 91350100M000100Y43 ✓" in full.text
    _, english, _ = talk(catalog, ["/lang en", "/summary"], state=state)
    assert "[Case summary]" in english.text and "Tax ID: 91350100********43" in english.text


def test_the_exact_error_message_is_in_the_summary(catalog):
    _, reply, _ = talk(catalog, ["发票验证失败", "所查发票不存在", "/summary"])
    assert "系统提示原文: “所查发票不存在”" in reply.text


# ---- handover ----------------------------------------------------------------------------------


async def test_messages_accepted_together_are_processed_in_order_around_a_handover(app):
    """One batch through the engine: each conversation in order, and a case opened in the middle of
    the batch takes the messages after it to support, not to the diagnosis."""
    messages = [("42", "发票查不到"), ("43", "开不了发票"), ("42", "/human"), ("43", "1"), ("42", "还有一张也查不到")]
    now = app.clock.now()
    await asyncio.gather(
        *(
            app.dispatcher.submit("telegram", f"m{n}", Inbound(ConversationKey("telegram", u, u), now, text=t))
            for n, (u, t) in enumerate(messages)
        )
    )
    assert await app.dispatcher.drain() == len(messages)
    sent = await outbox(app)
    to_42 = [text for _, chat, text in sent if chat == "42"]
    assert to_42[0].startswith("好的，我们来排查：发票查不到") and to_42[1].startswith("已转交人工客服")
    assert len(to_42) == 3 and to_42[2].startswith("已收到，已转给客服")  # the third went to support
    assert "#1 用户：还有一张也查不到" in [text for _, chat, text in sent if chat == SUPPORT]
    assert (await app.store.load(ConversationKey("telegram", "43", "43"))).node == "q_others"  # answered q_issue


async def test_human_queues_the_case_and_relays_both_ways(app):
    await say(app, "发票查不到")
    await outbox(app)
    await say(app, "/human")
    sent = await outbox(app)
    assert ("telegram", "42", "已转交人工客服，有人接手时我会告诉您。在此期间您发的消息会转给客服。") in sent
    announce = [s for s in sent if s[1] == SUPPORT]
    assert announce and announce[0][2].startswith("【待接手 #1】\n【问题摘要】")
    assert [s for s in sent if s[:2] == ("wecom", "agentw")]  # and to the WeCom support user
    await say(app, "/human")  # while the case is open, everything the user says goes to support
    assert sorted(s[:2] for s in await outbox(app) if s[2] == "#1 用户：/human") == [
        ("telegram", SUPPORT),
        ("wecom", "agentw"),
    ]  # queued: every support destination hears it

    await say(app, "还有一张也查不到")  # queued: goes to support, not the diagnosis
    assert [s[2] for s in await outbox(app) if s[1] == SUPPORT] == ["#1 用户：还有一张也查不到"]

    await say(app, choice="claim:1", user="7001", chat=SUPPORT, name="王会计")  # the button in the support chat
    sent = await outbox(app)
    assert ("telegram", "42", "人工客服 王会计 已接手您的问题，接下来您的消息会直接转给 TA。") in sent
    assert any(s[1] == SUPPORT and s[2] == "#1 已由 王会计 接手。" for s in sent)
    await say(app, "/claim 1", user="agentw", channel="wecom")
    assert ("wecom", "agentw", "#1 已经由 王会计 接手了。") in await outbox(app)

    case_message = (
        await app.store.db.execute_fetchall(
            "SELECT sent_ref FROM outbox WHERE chat = ? AND sent_ref IS NOT NULL ORDER BY id", (SUPPORT,)
        )
    )[0][0]
    await say(app, "请把发票号码发我一下", user="7001", chat=SUPPORT, name="王会计", reply_to=case_message)
    assert ("telegram", "42", "【人工客服 王会计】请把发票号码发我一下") in await outbox(app)
    await say(app, "大家早", user="7002", chat=SUPPORT)  # chatter among agents: nothing happens
    assert await outbox(app) == []
    await say(app, "24112000000016430745")
    assert [s[2] for s in await outbox(app) if s[1] == SUPPORT] == ["#1 用户：24112000000016430745"]

    await say(app, "/close 1", user="7002", chat=SUPPORT)  # someone else: not theirs
    assert any("#1 不是由您接手的" in s[2] for s in await outbox(app))
    await say(app, "/close 1", user="7001", chat=SUPPORT)
    assert any(s[1] == "42" and s[2].startswith("人工客服已结束本次会话") for s in await outbox(app))
    await say(app, "1")  # back to the bot
    assert any("什么时候开具" in s[2] for s in await outbox(app) if s[1] == "42")


async def test_a_wecom_agent_answers_with_plain_text_while_holding_one_case(app):
    await say(app, "/human", user="zhangsan", channel="wecom")
    await outbox(app)
    await say(app, "/claim 1", user="agentw", channel="wecom")
    await outbox(app)
    await say(app, "您好，请问是哪张发票？", user="agentw", channel="wecom")
    assert ("wecom", "zhangsan", "【人工客服 agentw】您好，请问是哪张发票？") in await outbox(app)
    await say(app, "就是昨天开的那张", user="zhangsan", channel="wecom")
    assert ("wecom", "agentw", "#1 用户：就是昨天开的那张") in await outbox(app)


async def test_two_agents_claiming_at_once_one_wins(app, tmp_path):
    case = await app.store.open_case("telegram:42:42", "telegram", "summary", app.clock.now())
    other = SqliteStore(tmp_path / "handover.db")
    await other.open()
    try:
        results = await asyncio.gather(
            app.store.claim_case(case.id, "telegram:1", "甲", app.clock.now()),
            other.claim_case(case.id, "wecom:agentw", "乙", app.clock.now()),
        )
    finally:
        await other.close()
    assert sorted(results) == [False, True]


async def test_unclaimed_cases_are_announced_again(app):
    await say(app, "/human")
    await outbox(app)
    app.clock.advance(minutes=14)
    assert await app.dispatcher.handover.reannounce() == 0
    app.clock.advance(minutes=2)
    assert await app.dispatcher.handover.reannounce() == 1
    assert await app.dispatcher.handover.reannounce() == 0  # not again right away
    again = [s for s in await outbox(app) if s[1] == SUPPORT]
    assert "已等待 16 分钟" in again[0][2]


async def test_without_support_the_bot_gives_contacts(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "nosupport.db"))
    monkeypatch.delenv("SUPPORT_TELEGRAM_CHAT_ID", raising=False)
    monkeypatch.delenv("SUPPORT_WECOM_USERS", raising=False)
    from bot.runtime.clock import ManualClock

    application = await open_app(load_settings(), clock=ManualClock(MONDAY))
    try:
        await say(application, "/human")
        (reply,) = await outbox(application)
        assert "没有配置人工客服" in reply[2] and "12366" in reply[2]
    finally:
        await application.close()


# ---- feedback, stats, privacy, housekeeping ----------------------------------------------------


async def test_feedback_and_stats(app):
    for text in ["开票提示额度不足", "1", "1", "1", "1", "已解决"]:
        await say(app, text, user="1")
    for text in ["开票提示额度不足", "1", "1", "2", "1", "部分解决"]:
        await say(app, text, user="2")
    for text in ["发票查不到", "1"]:
        await say(app, text, user="3")
    await say(app, "/human", user="4")
    await say(app, "/claim 1", user="agentw", channel="wecom")
    report = await collect_stats(app.store, None)
    assert report["conversations"]["by_symptom"] == {"blank_query": 1, "cannot_issue": 2}
    assert report["stopped_at"] == {"q_when": 1, "diagnosis": 1}  # "partly" goes back to the diagnosis
    assert report["feedback"]["solved"] == 1 and report["feedback"]["partly"] == 1
    assert report["feedback"]["resolution_rate"] == 0.5
    assert report["handovers"] == {
        "total": 1,
        "by_channel": {"telegram": 1},
        "claimed": 1,
        "open": 1,
        "median_minutes_to_claim": 0.0,
    }
    rows = await app.store.db.execute_fetchall("SELECT cause, outcome, steps_done, steps_skipped FROM feedback")
    assert sorted(rows) == [("quota_limit", "partly", 2, 1), ("quota_limit", "solved", 3, 0)]


async def test_forget_deletes_everything_about_the_user_after_confirmation(app):
    for text in ["/record", "24112000000016430745", "100", "今天", "某公司", "发票查不到"]:
        await say(app, text, user="9")
    await say(app, "发票查不到", user="10")
    await say(app, "/forget", user="9")
    await say(app, "不删除", user="9")
    assert len(await app.store.records(user="telegram:9")) == 1
    await say(app, "/forget", user="9")
    await say(app, "1", user="9")
    assert await app.store.records(user="telegram:9") == []
    logs = await app.store.db.execute_fetchall("SELECT COUNT(*) FROM transcript WHERE conversation LIKE '%:9'")
    assert logs[0][0] <= 1  # only the confirmation exchange itself
    assert (await app.store.load(ConversationKey("telegram", "9", "9"))).symptom is None
    assert (await app.store.load(ConversationKey("telegram", "10", "10"))).symptom == "blank_query"  # others kept


async def test_retention_purges_old_finished_rows(app):
    await say(app, "发票查不到")
    await outbox(app)
    # a processed message and a sent one leave their queues at once; the dedupe key stays a while
    assert await app.store.count("inbox") == 0 and await app.store.count("outbox") == 0
    assert await app.store.count("seen") == 1 and await app.store.count("transcript") == 1
    now = app.clock.now()
    assert await app.store.purge(now - timedelta(days=7), now - timedelta(days=90)) == {
        "seen": 0,
        "outbox": 0,
        "transcript": 0,
        "timers": 0,
    }
    later = now + timedelta(days=8)
    removed = await app.store.purge(later - timedelta(days=7), later - timedelta(days=90))
    assert (removed["seen"], removed["outbox"], removed["transcript"]) == (1, 0, 0)
    much_later = now + timedelta(days=91)
    assert (await app.store.purge(much_later - timedelta(days=7), much_later - timedelta(days=90)))["transcript"] == 1


async def test_backup_of_a_database_in_use(app, tmp_path):
    async def keep_writing():
        for i in range(50):
            await app.store.add_record("telegram:1", f"{i:08d}", "1.00", "2026-03-01", "x", app.clock.now())
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0)
    await app.store.backup(tmp_path / "copy.db")
    await writer
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert 0 <= copy.execute("SELECT COUNT(*) FROM records").fetchone()[0] <= 50


# ---- logs --------------------------------------------------------------------------------------


def test_logs_never_show_secrets_and_json_logs_carry_ids():
    redactor = Redactor(["abcdefSECRETtoken"])
    record = logging.LogRecord(
        "bot",
        logging.INFO,
        __file__,
        1,
        "sending with %s to %s",
        ("abcdefSECRETtoken", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-1&x=1"),
        None,
    )
    record.conversation, record.message_id = "telegram:1:1", "u42"
    redactor.filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sending with *** to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***&x=1"
    assert (line["conversation"], line["message_id"], line["level"]) == ("telegram:1:1", "u42", "INFO")
