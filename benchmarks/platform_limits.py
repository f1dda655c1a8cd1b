"""Fakes of Telegram's Bot API and WeCom's group robots that enforce the platforms' limits, in their
own process: each send is timed on arrival, and a send over a limit is refused (429 / errcode
45009) and counted as a violation.

    python benchmarks/platform_limits.py PORT    → prints "ready"; on a line from stdin, prints the
                                                    arrivals and violations as JSON and exits
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict, deque

from aiohttp import web

TOKEN = "123456:BENCH-token"
TELEGRAM_OVERALL = (30, 1.0)  # messages per second, across all chats
TELEGRAM_PER_GROUP = (20, 60.0)  # messages per minute in one group
ROBOT_LIMIT = (20, 60.0)  # WeCom group robot: messages per minute
BOT = {"id": 4242, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class Limit:
    """At most `count` arrivals within any `seconds`, per key."""

    def __init__(self, count: int, seconds: float):
        self.count, self.seconds = count, seconds
        self.arrivals: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, key: str, now: float) -> bool:
        times = self.arrivals[key]
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if len(times) >= self.count:
            return False
        times.append(now)
        return True


class Platforms:
    def __init__(self):
        self.telegram_overall = Limit(*TELEGRAM_OVERALL)
        self.telegram_group = Limit(*TELEGRAM_PER_GROUP)
        self.robot = Limit(*ROBOT_LIMIT)
        self.telegram_sent: list[float] = []
        self.robot_sent: list[float] = []
        self.violations = {"telegram": 0, "wecom": 0}
        self.message_ids = iter(range(1, 10**9))

    async def telegram(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = dict(await request.post()) if request.can_read_body else {}
        if request.content_type == "application/json":
            params = await request.json()
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT})
        if method == "getUpdates":
            await asyncio.sleep(min(float(params.get("timeout", 0) or 0), 1.0))
            return web.json_response({"ok": True, "result": []})
        if method != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        now = time.monotonic()
        chat = str(params["chat_id"])
        # a refused send is not counted against the limit, as on Telegram
        if not self.telegram_overall.admit("all", now) or (
            chat.startswith("-") and not self.telegram_group.admit(chat, now)
        ):
            self.violations["telegram"] += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        self.telegram_sent.append(now)
        message = {
            "message_id": next(self.message_ids),
            "date": int(time.time()),
            "text": params.get("text", ""),
            "from": BOT,
            "chat": {"id": int(chat), "type": "supergroup" if chat.startswith("-") else "private"},
        }
        return web.json_response({"ok": True, "result": message})

    async def gettoken(self, request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": "t", "expires_in": 7200})

    async def robot_send(self, request: web.Request) -> web.Response:
        await request.read()
        now = time.monotonic()
        if not self.robot.admit(request.query.get("key", ""), now):
            self.violations["wecom"] += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.robot_sent.append(now)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def main(port: int) -> None:
    platforms = Platforms()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", platforms.telegram)
    app.router.add_get("/cgi-bin/gettoken", platforms.gettoken)
    app.router.add_post("/cgi-bin/webhook/send", platforms.robot_send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await runner.cleanup()
    print(
        json.dumps(
            {
                "telegram_sent": platforms.telegram_sent,
                "robot_sent": platforms.robot_sent,
                "violations": platforms.violations,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
