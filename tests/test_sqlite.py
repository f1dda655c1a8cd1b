"""What is particular to the SQLite backend: file, WAL, schema version, reopening."""

from __future__ import annotations

import sqlite3

import pytest

from bot.engine.types import ConversationKey, ConversationState, Inbound
from bot.store.base import Turn
from bot.store.schema import SCHEMA_VERSION
from bot.store.sqlite import SchemaTooNew, SqliteStore
from tests.conftest import NOW


async def test_new_file_gets_wal_and_the_current_schema(tmp_path):
    path = tmp_path / "nested" / "bot.db"
    async with SqliteStore(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.integrity() == "ok"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_data_survives_reopening(tmp_path):
    key = ConversationKey("console", "c", "u")
    async with SqliteStore(tmp_path / "bot.db") as store:
        inbox_id = await store.accept("console", "1", Inbound(key, NOW, text="hi"))
        await store.commit(Turn(inbox_id, key, ConversationState(node="menu")), NOW)
    async with SqliteStore(tmp_path / "bot.db") as store:
        assert (await store.load(key)).node == "menu"
        assert await store.accept("console", "1", Inbound(key, NOW, text="hi")) is None


async def test_a_newer_schema_is_refused_with_advice(tmp_path):
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match="OUTAGE_BOT_DB"):
        await SqliteStore(path).open()
