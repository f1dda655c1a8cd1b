"""The long connection in process, against the fake server over a real WebSocket: what happens when
pings go unanswered, a req_id has gone stale, the secret stops working, a conversation is busy."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import open_app
from bot.channels.wecom_bot import connection as connection_module
from bot.channels.wecom_bot.channel import WeComBotChannel
from bot.channels.wecom_bot.format import MAX_MARKDOWN_BYTES, parse_button_key, split_payload
from bot.cli.admin import collect_stats
from bot.config import load_settings
from bot.runtime.sender import Sender
from bot.store.base import OutboundMessage
from tests.fakes.wecom_bot_server import BOT_ID, SECRET, FakeWeComBot


async def until(predicate, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.fixture
def fake():
    server = FakeWeComBot().start()
    yield server
    server.stop()


@pytest.fixture
async def bot(fake, tmp_path, monkeypatch):
    env = {"WECOM_BOT_ID": BOT_ID, "WECOM_BOT_SECRET": SECRET, "WECOM_BOT_WS_URL": fake.url,
           "TELEGRAM_BOT_TOKEN": "", "OUTAGE_BOT_DB": str(tmp_path / "ws.db")}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = await open_app(load_settings())
    channel = WeComBotChannel(load_settings(), app.host())
    await channel.start()
    yield app, channel
    await channel.stop()
    await app.close()


async def eventually(check, timeout: float = 10):
    """Await `check()` until it returns something truthy (the channel commits on a task of its own)."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.02)
    return result


async def answer(app, channel) -> None:
    """What the worker and the sender of a running bot do: process, then deliver."""
    await app.dispatcher.drain()
    sender = Sender(app.store, app.clock, channel)
    while await sender.flush():
        pass


async def test_a_stale_req_id_is_answered_by_a_push_instead(fake, bot):
    app, channel = bot
    fake.fail_next["aibot_respond_msg"] = 846605  # invalid req_id
    await asyncio.to_thread(fake.say, "lisi", "电子税务局打不开")
    await eventually(app.store.unfinished)
    await answer(app, channel)
    commands = [r["cmd"] for r in fake.replies]
    assert commands and commands[0] == "aibot_send_msg" and fake.violations == []


async def test_unanswered_pings_mean_a_dead_connection(fake, bot, monkeypatch):
    _app, channel = bot
    monkeypatch.setattr(connection_module, "HEARTBEAT_S", 0.1)
    monkeypatch.setattr(connection_module, "ACK_TIMEOUT_S", 0.2)
    channel.connection._tasks[0].cancel()  # restart the keeper with the short heartbeat
    channel.connection._tasks[0] = asyncio.create_task(channel.connection._keep_up())
    fake.answer_pings = False
    await until(lambda: fake.pings >= 2)
    fake.answer_pings = True
    await until(lambda: fake.subscribes >= 2)
    assert channel.healthy()


async def test_a_secret_refused_on_reconnect_stops_the_channel_once(fake, bot):
    _app, channel = bot
    channel.connection.secret = "revoked"
    fake.drop()
    await until(lambda: channel.connection.stopped_because is not None)
    await asyncio.sleep(1.5)
    assert fake.refused_subscribes == 1 and not channel.healthy()
    assert "WECOM_BOT_SECRET" in channel.connection.stopped_because


async def test_feedback_on_a_reply_counts_in_stats(fake, bot):
    app, _channel = bot
    await asyncio.to_thread(fake.feedback, "lisi", "stream-1", 1)
    await asyncio.to_thread(fake.feedback, "wangwu", "stream-2", 2)

    async def both():
        stats = await collect_stats(app.store, None)
        return stats if sum(stats["feedback"]["reactions"].values()) == 2 else None

    stats = await eventually(both)
    assert stats["feedback"]["reactions"] == {"liked": 1, "disliked": 1}
    assert stats["feedback"]["resolution_rate"] is None  # reactions are not answers to "did it solve it?"


async def test_one_conversation_gets_at_most_30_a_minute(fake, bot):
    app, channel = bot
    fake.chats_seen.add("busy")
    messages = [OutboundMessage("wecom_bot", "busy", {"text": f"第{i}条", "user": "busy"}) for i in range(32)]
    await app.store.enqueue(messages, app.clock.now())
    await answer(app, channel)
    assert len(fake.texts("busy")) == 30 and fake.violations == []
    assert len(await app.store.unsent("wecom_bot", "busy")) == 2  # waiting their turn, not dropped


def test_parts_fit_the_platform():
    long = {"text": "发票" * 8000, "options": [], "lang": "zh", "user": "u"}
    parts = split_payload(long)
    assert len(parts) == 3 and all(len(p["content"].encode()) <= MAX_MARKDOWN_BYTES for p in parts)
    six = [{"key": f"k{i}", "label": f"选项{i}"} for i in range(6)]
    *_text, card = split_payload({"text": "选哪个？", "options": six, "lang": "zh", "user": "u9"})
    assert card["msgtype"] == "template_card" and len(card["template_card"]["button_list"]) == 6
    assert parse_button_key(card["template_card"]["button_list"][2]["key"]) == ("u9", "k2", "选项2")
    seven = [*six, {"key": "k6", "label": "选项6"}]
    parts = split_payload({"text": "选哪个？", "options": seven, "lang": "zh", "user": "u9"})
    assert len(parts) == 1 and "7. 选项6" in parts[0]["content"]  # more than a card holds: numbers to type
