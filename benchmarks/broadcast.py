"""An outage announced to every subscribed group at once: 1,000 Telegram groups and 50 WeCom group
robots, against fakes that enforce the platforms' limits (benchmarks/platform_limits.py).

Efficiency is the time the limits require for the Telegram sends (30 a second: ceil(N / 30) - 1
seconds after the first) over the time they took, first arrival to last; violations are sends the
fakes refused on either platform.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from datetime import UTC, datetime

from loadgen import BOT_ENV
from platform_limits import TELEGRAM_OVERALL, TOKEN
from processes import HERE, ROOT, Bot, free_port

from bot.store.base import Group
from bot.store.sqlite import SqliteStore


async def register_groups(bot: Bot, telegram_groups: int, robots: int) -> None:
    async with SqliteStore(bot.db) as store:
        now = datetime.now(UTC)
        for n in range(telegram_groups):
            await store.add_group(Group(f"tg{n:04d}", "telegram", "telegram_group", str(-1001000000000 - n)), now)
        for n in range(robots):
            await store.add_group(Group(f"robot{n:02d}", "wecom", "wecom_robot", f"robot-key-{n:02d}"), now)


def broadcast(telegram_groups: int = 1000, robots: int = 50) -> dict:
    port = free_port()
    fakes = subprocess.Popen(
        [sys.executable, str(HERE / "platform_limits.py"), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if fakes.stdout.readline().strip() != "ready":
        raise RuntimeError("the platform fakes did not start")
    base = f"http://127.0.0.1:{port}"
    bot = Bot(
        BOT_ENV
        | {
            "WECOM_API_BASE_URL": f"{base}/cgi-bin/",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": f"{base}/bot",
        }
    )
    asyncio.run(register_groups(bot, telegram_groups, robots))
    total = telegram_groups + robots
    try:
        bot.start()
        declared = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "bot", "outage", "start", "--summary", "电子税务局维护，开票与查验暂停"],
            cwd=ROOT,
            env=bot.env,
            check=True,
            capture_output=True,
        )
        deadline = declared + 3 * total / TELEGRAM_OVERALL[0] + 60
        while time.monotonic() < deadline:
            if asyncio.run(_count_unsent(bot)) == 0:
                break
            time.sleep(0.5)
    finally:
        bot.stop()
        out, _ = fakes.communicate("done\n", timeout=30)
    seen = json.loads(out.strip().splitlines()[-1])
    sent = sorted(seen["telegram_sent"])
    count, per = TELEGRAM_OVERALL
    required = (math.ceil(len(sent) / count) - 1) * per
    took = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    return {
        "broadcast_efficiency": required / took if took else 1.0,
        "broadcast_violations": sum(seen["violations"].values()),
        "broadcast_violations_by_platform": seen["violations"],
        "broadcast_groups": f"{telegram_groups} Telegram + {robots} WeCom",
        "broadcast_delivered": len(sent) + len(seen["robot_sent"]),
        "broadcast_expected": total,
        "broadcast_s": took,
    }


async def _count_unsent(bot: Bot) -> int:
    async with SqliteStore(bot.db) as store:
        rows = await store.db.execute_fetchall(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
        return rows[0][0]
