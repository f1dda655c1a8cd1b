"""Several workers on one PostgreSQL schema, at the store: a conversation is held by one worker at a
time, a dead worker's hold runs out, and a turn committed twice counts once."""

from __future__ import annotations

import pytest

from bot.engine.types import ConversationKey, ConversationState, Inbound
from bot.store import postgres
from bot.store.base import ClaimLost, Turn
from bot.store.postgres import PostgresStore
from tests.conftest import NOW
from tests.postgres import drop_schema, fresh_schema_url


@pytest.fixture
async def workers():
    url, schema = fresh_schema_url()
    stores = [PostgresStore(url, worker=name) for name in ("a", "b")]
    for store in stores:
        await store.open()
    yield stores
    for store in stores:
        await store.close()
    await drop_schema(schema)


def message(user: str, text: str) -> Inbound:
    return Inbound(ConversationKey("wecom", user, user), NOW, text=text)


async def test_a_conversation_is_held_by_one_worker_at_a_time(workers):
    a, b = workers
    await a.accept_many([("wecom", "1", message("u1", "一")), ("wecom", "2", message("u2", "二"))])
    await a.accept("wecom", "3", message("u1", "三"))
    mine = await a.claim(limit=1)  # the oldest message's conversation: u1's
    assert [r.inbound.text for r in mine] == ["一"]
    theirs = await b.claim()
    assert [r.inbound.text for r in theirs] == ["二"]  # u1's later message too is a's while it holds u1
    await b.release_claims()
    await a.release_claims()
    assert {r.inbound.text for r in await b.claim()} == {"一", "二", "三"}


async def test_a_dead_workers_hold_runs_out_and_its_late_commit_counts_for_nothing(workers, monkeypatch):
    a, b = workers
    await a.accept("wecom", "1", message("u1", "发票查不到"))
    monkeypatch.setattr(postgres, "LEASE_S", -1.0)  # a's lease is over as soon as it is taken
    (row,) = await a.claim()
    monkeypatch.setattr(postgres, "LEASE_S", 15.0)
    (again,) = await b.claim()
    assert again.id == row.id
    turn = Turn(row.id, row.inbound.key, ConversationState(node="q_where"), said="发票查不到")
    await b.commit(turn, NOW)
    with pytest.raises(ClaimLost):
        await a.commit(turn, NOW)
    assert await a.count("transcript") == 1 and await a.unfinished() == []


async def test_a_worker_reading_a_file_keeps_its_hold_by_extending_it(workers, monkeypatch):
    a, b = workers
    await a.accept("wecom", "1", message("u1", "a photo"))
    monkeypatch.setattr(postgres, "LEASE_S", -1.0)  # taken already over
    (row,) = await a.claim()
    monkeypatch.setattr(postgres, "LEASE_S", 15.0)
    await a.extend_claims()  # what the dispatcher does every few seconds while the file is read
    assert await b.claim() == []
    turn = Turn(row.id, row.inbound.key, ConversationState(node="q_where"), said="a photo")
    await a.commit(turn, NOW)  # still a's: its turn counts
    assert await a.count("transcript") == 1
