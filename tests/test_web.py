"""/healthz: 200 when the database answers and every channel runs, 503 otherwise."""

from __future__ import annotations

import httpx

from bot.app import App
from bot.config import load_settings
from bot.engine.types import ConversationKey
from bot.store.sqlite import SqliteStore
from bot.web import build_web


class FakeChannel:
    name = "telegram"

    def __init__(self, up: bool):
        self.up = up

    def healthy(self) -> bool:
        return self.up

    def routes(self) -> list:
        return []


async def get_health(store, channels):
    transport = httpx.ASGITransport(app=build_web(store, channels))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.get("/healthz")


async def test_health_reports_database_and_channels(db_path):
    async with SqliteStore(db_path) as store:
        ok = await get_health(store, [FakeChannel(True)])
        assert ok.status_code == 200
        assert ok.json() == {"status": "ok", "database": "ok", "channels": {"telegram": "running"}}
        down = await get_health(store, [FakeChannel(False)])
        assert down.status_code == 503 and down.json()["channels"] == {"telegram": "down"}
    closed = await get_health(store, [FakeChannel(True)])  # the store is closed now
    assert closed.status_code == 503 and closed.json()["database"].startswith("error")


def test_admins_are_exactly_the_listed_telegram_ids(monkeypatch):
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "1001, 1002")
    app = App(load_settings(), None, {}, None, None, None)
    assert app.is_admin(ConversationKey("telegram", "-100", "1001"))
    assert not app.is_admin(ConversationKey("telegram", "1003", "1003"))
    assert app.is_admin(ConversationKey("console", "me", "me"))
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "")
    assert not App(load_settings(), None, {}, None, None, None).is_admin(ConversationKey("telegram", "1", "1001"))
