from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from bot.playbook.catalog import Catalog
from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir
from tests.fakes.http_server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.fromisoformat("2026-03-02T10:00:00+08:00")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog([shipped_playbooks_dir()])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


async def deliver_all(store, channel: str, now) -> list[dict]:
    """Everything the outbox holds for a channel, in order, marking it sent (as a sender would)."""
    payloads = []
    while rows := await store.pending(channel, now):
        for row in rows:
            payloads.append(row.message.payload)
            await store.mark_sent(row.id, now)
    return payloads


def _served(fake, path: str):
    with BackgroundServer(fake.app) as server:
        fake.base_url = server.url + path
        yield fake


@pytest.fixture
def telegram():
    """A fake Telegram Bot API on 127.0.0.1."""
    yield from _served(FakeTelegram(), "/bot")


@pytest.fixture
def wecom():
    """A fake WeCom server API on 127.0.0.1."""
    yield from _served(FakeWeCom(), "/cgi-bin/")


@pytest.fixture
def fakes(telegram, wecom):
    """Fake Telegram and WeCom servers on 127.0.0.1, for tests of the bot on both platforms."""
    return telegram, wecom


@pytest.fixture
async def console_app(tmp_path, monkeypatch):
    """The whole application on a fresh SQLite file, its clock stopped at NOW."""
    from bot.app import open_app
    from bot.config import load_settings
    from bot.runtime.clock import ManualClock

    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "console.db"))
    app = await open_app(load_settings(), clock=ManualClock(NOW))
    yield app
    await app.close()


def random_seed() -> int:
    """The seed of a test's random choices: TEST_SEED to replay a run, else a fixed one; printed,
    so a failure's output says how to replay it."""
    seed = int(os.environ.get("TEST_SEED", "20261128"))
    print(f"random seed {seed} (replay with TEST_SEED={seed})")
    return seed
