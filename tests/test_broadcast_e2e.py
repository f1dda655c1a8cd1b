"""The CLI writes, the running bot delivers: outage notices to a Telegram group subscribed with
/subscribe, to many more Telegram groups within Telegram's limits, and to a WeCom group robot."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

from bot.store.base import Group
from bot.store.sqlite import SqliteStore
from tests.bot_process import BotProcess
from tests.fakes.http_server import wait_until
from tests.test_wecom import wecom_env

ADMIN = 1001
EXTRA_GROUPS = 40


def cli(bot: BotProcess, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=bot.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


async def add_telegram_groups(path, count: int) -> None:
    async with SqliteStore(path) as store:  # the running bot shares the file (WAL)
        for i in range(count):
            await store.add_group(Group(f"群{i}", "telegram", "telegram_group", str(-200000 - i)), datetime.now(UTC))


def test_cli_declares_and_the_running_bot_broadcasts_within_limits(fakes, tmp_path):
    telegram, wecom = fakes
    env = wecom_env(wecom) | {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_ADMIN_IDS": str(ADMIN),
    }
    bot = BotProcess(tmp_path, env).start()
    try:
        assert bot.wait_healthy()["channels"] == {"telegram": "running", "wecom": "running"}
        telegram.push(telegram.message("/subscribe", user=ADMIN, chat=-100777))
        telegram.push(telegram.message("/subscribe", user=2002, chat=-100888))  # not an admin
        wait_until(lambda: len(telegram.sent) == 2)
        replies = {m["params"]["chat_id"]: m["params"]["text"] for m in telegram.sent}
        assert replies == {-100777: "本群已订阅故障通报和提醒。", -100888: "抱歉，只有管理员可以使用这个命令。"}
        cli(bot, "groups", "add", "--wecom-robot", "robot-key-0001", "--name", "财务部")
        asyncio.run(add_telegram_groups(tmp_path / "bot.db", EXTRA_GROUPS))

        dry = cli(bot, "outage", "start", "--summary", "发票查询服务维护", "--until", "20:00", "--dry-run")
        assert f"would go to {EXTRA_GROUPS + 2} group(s)" in dry.stdout
        bot.wait_idle(pending_elsewhere=telegram.unconfirmed)
        assert len(telegram.sent) == 2  # a dry run sends nothing

        cli(bot, "outage", "start", "--summary", "发票查询服务维护", "--until", "20:00")
        wait_until(lambda: len(telegram.sent) == 2 + EXTRA_GROUPS + 1 and len(wecom.sent) == 2)
        notices = telegram.sent[2:]
        assert {m["params"]["chat_id"] for m in notices} == {-100777} | {-200000 - i for i in range(EXTRA_GROUPS)}
        assert all(m["params"]["text"].startswith("【发票系统故障通报】发票查询服务维护") for m in notices)
        assert wecom.sent[1]["api"] == "webhook/send" and "发票查询服务维护" in wecom.sent[1]["content"]
        assert telegram.violations == []  # within Telegram's limits, as Telegram counts them

        cli(bot, "outage", "resolve")
        wait_until(lambda: len(wecom.sent) == 3)
        assert "查验" in wecom.sent[2]["content"] and "核对" in wecom.sent[2]["content"]
    finally:
        assert bot.stop() == 0, bot.log.read_text()
