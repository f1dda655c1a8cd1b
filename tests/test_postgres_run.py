"""`outage-bot run` on PostgreSQL (OUTAGE_BOT_DB=postgresql://…): conversations, a second process
refused, kill -9 and restart, and the operator's verbs, against a real server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest

from tests.bot_process import ROOT, BotProcess
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_bot_server import FakeWeComBot
from tests.postgres import drop_schema, fresh_schema_url, idle, query
from tests.test_wecom_bot import GROUP, bot_env


@pytest.fixture
def database():
    url, schema = fresh_schema_url()
    yield url, schema
    asyncio.run(drop_schema(schema))


@pytest.fixture
def fake():
    server = FakeWeComBot().start()
    yield server
    server.stop()


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_two_workers_one_leader_and_the_lead_moves_when_it_dies(fake, database, tmp_path):
    url, schema = database
    first = BotProcess(tmp_path, bot_env(fake, OUTAGE_BOT_DB=url)).start()
    second = BotProcess(tmp_path, bot_env(fake, OUTAGE_BOT_DB=url)).start()
    try:
        health = [first.wait_healthy(), second.wait_healthy()]
        assert [h["leader"] for h in health] == [True, False]
        assert health[1]["channels"] == {"wecom_bot": "standby"}  # the long connection is the leader's
        assert fake.subscribes == 1
        metrics = [httpx.get(f"{w.url}/metrics").text for w in (first, second)]
        assert f'outage_bot_leader{{worker="{health[0]["worker"]}"}} 1.0' in metrics[0]
        assert f'outage_bot_leader{{worker="{health[1]["worker"]}"}} 0.0' in metrics[1]
        message = fake.say("zhangsan", "开出去的发票对方查不到", chat=GROUP)
        fake.wait_for(GROUP, lambda t: any(x.startswith("[card]") for x in t), what="the first answer")

        first.kill()  # kill -9: the lead moves to the other worker within seconds
        started = time.monotonic()
        wait_until(lambda: second.wait_healthy()["leader"], 30, "the second worker to lead")
        wait_until(lambda: fake.subscribes == 2 and fake.connected, 10, "the new leader's connection")
        took = time.monotonic() - started
        fake.redeliver(message)  # WeCom may deliver it again: it was taken before the kill
        before = len(fake.texts(GROUP))
        fake.say("zhangsan", "昨天开的", chat=GROUP)
        fake.wait_for(GROUP, lambda t: len(t) > before, what="an answer from the new leader")
        wait_until(lambda: idle(url, schema), 20, "the workers to be idle")
        said = [r[0] for r in query(url, schema, "SELECT said FROM transcript WHERE said IS NOT NULL ORDER BY id")]
        assert said == ["开出去的发票对方查不到", "昨天开的"]
        assert "leads" in second.log.read_text() and took < 20

        env = second.env
        stats = cli(env, "stats", "--json")
        assert stats.returncode == 0 and '"wecom_bot": 1' in stats.stdout, stats.stderr
        doctor = cli(env, "doctor", "--offline")
        assert f"schema {schema}: version" in doctor.stdout
        backup = cli(env, "backup", str(tmp_path / "b.db"))
        assert backup.returncode == 2 and "pg_dump" in backup.stderr
        assert fake.violations == []
    finally:
        first.stop()
        second.stop()
