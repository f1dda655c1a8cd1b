"""What is particular to the SQLite backend: file, WAL, schema version, reopening."""

from __future__ import annotations

import sqlite3

import pytest

from bot.engine.types import ConversationKey, ConversationState, Inbound
from bot.store.base import Turn
from bot.store.codec import encode_inbound
from bot.store.schema import MIGRATIONS, SCHEMA_VERSION
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


async def test_a_version_5_database_keeps_its_messages_and_log_when_migrated(tmp_path):
    """Schema 6 deletes processed inbox rows (keeping their ids) and merges the message log into
    the transcript: a database written by the previous version loses nothing that matters."""
    path = tmp_path / "bot.db"
    key = ConversationKey("wecom", "zhangsan", "zhangsan")
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:5]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 5")
        message = encode_inbound(Inbound(key, NOW, text="发票查不到"))
        db.executemany(
            "INSERT INTO inbox (channel, dedupe_key, conversation, inbound, received_at, done_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [("wecom", "msg:1", str(key), message, 1.0, 2.0), ("wecom", "msg:2", str(key), message, 3.0, None)],
        )
        db.executemany(
            "INSERT INTO message_log (conversation, direction, text, at) VALUES (?, ?, ?, ?)",
            [(str(key), "in", "发票查不到", 2.0), (str(key), "out", "是在哪里查不到这张发票？", 2.0)],
        )
    async with SqliteStore(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert [row.dedupe_key for row in await store.unfinished()] == ["msg:2"]  # still to process
        assert await store.accept("wecom", "msg:1", Inbound(key, NOW, text="again")) is None  # still known
        rows = await store.db.execute_fetchall("SELECT said, answer FROM transcript ORDER BY id")
        assert [tuple(r) for r in rows] == [("发票查不到", None), (None, "是在哪里查不到这张发票？")]
