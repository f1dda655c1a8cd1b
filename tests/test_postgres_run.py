"""`outage-bot run` on PostgreSQL (OUTAGE_BOT_DB=postgresql://…): conversations, a second process
refused, kill -9 and restart, and the operator's verbs, against a real server."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest

from tests.bot_process import ROOT, BotProcess
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_bot_server import FakeWeComBot
from tests.postgres import drop_schema, fresh_schema_url
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


def query(url: str, schema: str, sql: str) -> list:
    async def go() -> list:
        connection = await asyncpg.connect(url.split("?")[0])
        try:
            await connection.execute(f'SET search_path TO "{schema}"')
            return await connection.fetch(sql)
        finally:
            await connection.close()

    return asyncio.run(go())


def idle(url: str, schema: str) -> bool:
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
    (row,) = query(url, schema, f"SELECT (SELECT count(*) FROM inbox) + ({unsent})")
    return row[0] == 0


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_run_on_postgres_conversations_restarts_and_operator_verbs(fake, database, tmp_path):
    url, schema = database
    bot = BotProcess(tmp_path, bot_env(fake, OUTAGE_BOT_DB=url)).start()
    try:
        first = fake.say("zhangsan", "开出去的发票对方查不到", chat=GROUP)
        fake.wait_for(GROUP, lambda t: any(x.startswith("[card]") for x in t), what="the first answer")

        second = BotProcess(tmp_path, bot_env(fake, OUTAGE_BOT_DB=url))
        second.start(wait_healthy=False)
        assert second.proc.wait(timeout=30) == 1
        assert "in use by another outage-bot" in second.log.read_text()
        assert fake.subscribes == 1  # it never got as far as taking the bot's connection

        bot.kill()
        bot.start()
        fake.redeliver(first)  # WeCom may deliver it again: it was taken before the kill
        before = len(fake.texts(GROUP))
        fake.say("zhangsan", "昨天开的", chat=GROUP)
        fake.wait_for(GROUP, lambda t: len(t) > before, what="an answer after the restart")
        wait_until(lambda: idle(url, schema), 20, "the bot to be idle")
        said = [r[0] for r in query(url, schema, "SELECT said FROM transcript WHERE said IS NOT NULL ORDER BY id")]
        assert said == ["开出去的发票对方查不到", "昨天开的"]

        env = bot.env
        stats = cli(env, "stats", "--json")
        assert stats.returncode == 0 and '"wecom_bot": 1' in stats.stdout, stats.stderr
        doctor = cli(env, "doctor", "--offline")
        assert f"schema {schema}: version" in doctor.stdout
        backup = cli(env, "backup", str(tmp_path / "b.db"))
        assert backup.returncode == 2 and "pg_dump" in backup.stderr
        assert fake.violations == []
    finally:
        bot.stop()
