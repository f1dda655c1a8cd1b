"""Dispatcher and scheduler on a real SQLite file, with a manual clock: nothing sleeps."""

from __future__ import annotations

from datetime import datetime

from bot.engine.types import Context, ConversationKey, Inbound
from bot.runtime.clock import ManualClock
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.scheduler import fire_due
from bot.store.sqlite import SqliteStore
from tests.conftest import NOW, deliver_all

KEY = ConversationKey("console", "u", "u")


def dispatcher_for(store, catalog, clock):
    return Dispatcher(store, catalog, lambda key: Context(idle_minutes=0), clock)


async def say(dispatcher, clock, text, message_id):
    return await dispatcher.submit("console", message_id, Inbound(KEY, clock.now(), text=text))


async def test_a_redelivered_message_is_answered_once(catalog, db_path):
    clock = ManualClock(NOW)
    async with SqliteStore(db_path) as store:
        dispatcher = dispatcher_for(store, catalog, clock)
        assert await say(dispatcher, clock, "发票查不到", "m1") is not None
        assert await say(dispatcher, clock, "发票查不到", "m1") is None
        assert await dispatcher.drain() == 1
        assert len(await deliver_all(store, "console", clock.now())) == 1


async def test_messages_accepted_before_a_crash_are_processed_after_restart(catalog, db_path):
    clock = ManualClock(NOW)
    async with SqliteStore(db_path) as store:
        dispatcher = dispatcher_for(store, catalog, clock)
        await say(dispatcher, clock, "发票查不到", "m1")
        await say(dispatcher, clock, "1", "m2")
        # the process dies here: accepted, not yet processed
    async with SqliteStore(db_path) as store:
        assert await dispatcher_for(store, catalog, clock).drain() == 2
        replies = await deliver_all(store, "console", clock.now())
        assert [r["state"] for r in replies] == ["q_where", "q_when"]
        assert (await store.load(KEY)).answers[0].key == "platform"


async def test_a_reminder_survives_a_restart_and_fires_once_marked_late(catalog, db_path):
    evening = datetime.fromisoformat("2026-03-02T20:00:00+08:00")
    clock = ManualClock(evening)
    async with SqliteStore(db_path) as store:
        dispatcher = dispatcher_for(store, catalog, clock)
        for i, text in enumerate(["发票查不到", "1", "今天", "已上传", "跳过", "只有我们", "1", "3"]):
            await say(dispatcher, clock, text, f"m{i}")
        await dispatcher.drain()
        replies = await deliver_all(store, "console", clock.now())
        assert "我会在 2026-03-03 09:00 提醒您" in replies[-1]["text"]
    clock.set(datetime.fromisoformat("2026-03-03T11:00:00+08:00"))  # the bot was down at 09:00
    async with SqliteStore(db_path) as store:
        dispatcher = dispatcher_for(store, catalog, clock)
        assert len(await fire_due(store, clock)) == 1
        assert await fire_due(store, clock) == []  # never twice
        await dispatcher.drain()
        last = (await deliver_all(store, "console", clock.now()))[-1]["text"]
        assert last.startswith("提醒：") and last.endswith("（延迟发送）")


async def test_a_reminder_on_time_is_not_marked_late(catalog, db_path):
    clock = ManualClock(datetime.fromisoformat("2026-03-02T20:00:00+08:00"))
    async with SqliteStore(db_path) as store:
        dispatcher = dispatcher_for(store, catalog, clock)
        for i, text in enumerate(["发票查不到", "1", "今天", "已上传", "跳过", "只有我们", "1", "3"]):
            await say(dispatcher, clock, text, f"m{i}")
        await dispatcher.drain()
        clock.set(datetime.fromisoformat("2026-03-03T09:01:00+08:00"))
        await fire_due(store, clock)
        await dispatcher.drain()
        assert "延迟" not in (await deliver_all(store, "console", clock.now()))[-1]["text"]
        clock.advance(hours=1)
        assert await fire_due(store, clock) == []
