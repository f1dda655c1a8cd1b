"""The load generator, in its own process: encrypted WeCom callbacks to the bot, and a fake WeCom API
that receives the bot's replies and times them.

Every user sends the benchmark conversation one turn at a time and waits for the reply before the
next turn, as a person would; a message counts as answered when its reply reaches the fake API.

    python benchmarks/loadgen.py --bot URL --api-port PORT closed --concurrency 256 --duration 20
    python benchmarks/loadgen.py --bot URL --api-port PORT rate --rate 200 --duration 30
    python benchmarks/loadgen.py --bot URL --api-port PORT conversations --count 100000

Prints one JSON object with the counts and latencies when done.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import sys
import time
from collections import deque
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto

from bot.channels.wecom_app.envelope import signature  # the bot's own check, so the two cannot disagree

CORP_ID, SECRET, AGENT_ID = "wwbench0000000000", "bench-secret", 1000002
TOKEN = "benchToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
BOT_ENV = {
    "WECOM_CORP_ID": CORP_ID,
    "WECOM_AGENT_ID": str(AGENT_ID),
    "WECOM_SECRET": SECRET,
    "WECOM_TOKEN": TOKEN,
    "WECOM_AES_KEY": AES_KEY,
}
# One conversation from "invoices don't show up" to the diagnosis: every turn has exactly one reply.
# Every benchmark that talks to the bot uses it.
SCRIPT = ("发票查不到", "1", "2", "3", "跳过", "1")
AGAIN = (*SCRIPT, "/restart")  # users who talk on start over
REPLY_TIMEOUT_S = 30.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Tally:
    sent: int = 0
    acked: int = 0
    answered: int = 0
    errors: int = 0
    unexpected_replies: int = 0
    ack_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    replies_by_user: dict[str, deque] = field(default_factory=dict)


class Load:
    def __init__(self, bot_url: str, api_port: int):
        # several workers (comma-separated): callbacks go round-robin, as a load balancer sends them
        self.bot_urls = [url.rstrip("/") + "/wecom/callback" for url in bot_url.split(",")]
        self.next_bot = itertools.cycle(self.bot_urls)
        self.api_port = api_port
        self.crypto = PrpCrypto(base64.b64decode(AES_KEY + "="))
        self.ids = itertools.count(9_000_000_000)
        self.tally = Tally()
        self.waiting: dict[str, deque[asyncio.Future]] = {}
        self.counting = True

    # ---- the fake WeCom API --------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": "bench-token", "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = body.get("touser") or body.get("chatid")
        waiters = self.waiting.get(user)
        if waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(time.perf_counter())
        else:
            self.tally.unexpected_replies += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": "m"})

    async def serve_api(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.api_port).start()
        return runner

    # ---- callbacks -----------------------------------------------------------------------------

    def callback(self, user: str, text: str) -> tuple[dict, bytes]:
        now = int(time.time())
        plain = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]>"
            f"</Content><MsgId>{next(self.ids)}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
        )
        encrypted = self.crypto.encrypt(plain, CORP_ID).decode()
        timestamp, nonce = str(now), "bench"
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        ).encode()
        params = {
            "msg_signature": signature(TOKEN, timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return params, body

    async def say(self, session: aiohttp.ClientSession, user: str, text: str) -> bool:
        """One message: POST the callback, then wait for its reply at the fake API."""
        params, body = self.callback(user, text)
        reply = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(user, deque()).append(reply)
        started = time.perf_counter()
        counting = self.counting
        try:
            async with session.post(next(self.next_bot), params=params, data=body) as response:
                await response.read()
                ok = response.status == 200
        except aiohttp.ClientError:
            ok = False
        acked = time.perf_counter()
        if counting:
            self.tally.sent += 1
        if not ok:
            self.tally.errors += 1
            self.waiting[user].remove(reply)
            return False
        try:
            replied = await asyncio.wait_for(reply, REPLY_TIMEOUT_S)
        except TimeoutError:
            self.tally.errors += 1
            return False
        finally:
            if not self.waiting.get(user):
                self.waiting.pop(user, None)
        if counting:
            self.tally.acked += 1
            self.tally.answered += 1
            self.tally.ack_ms.append((acked - started) * 1000)
            self.tally.reply_ms.append((replied - started) * 1000)
        return True


def session_for(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, force_close=False),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def closed_loop(load: Load, concurrency: int, users: int, duration: float, warmup: float) -> dict:
    """As many messages as the bot takes: `concurrency` users at a time, round-robin over `users`."""
    turn_of = [0] * users
    next_user = itertools.count()
    stop_at = time.perf_counter() + warmup + duration
    load.counting = warmup == 0

    async def person(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            user = next(next_user) % users
            if await load.say(session, f"bench{user:06d}", AGAIN[turn_of[user] % len(AGAIN)]):
                turn_of[user] += 1

    async with session_for(concurrency) as session:
        tasks = [asyncio.create_task(person(session)) for _ in range(concurrency)]
        if warmup:
            await asyncio.sleep(warmup)
            load.counting = True
        began = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return {"elapsed_s": elapsed, "users": min(users, next(next_user))}


async def fixed_rate(load: Load, rate: float, users: int, duration: float, warmup: float) -> dict:
    """Messages offered at `rate` per second whatever the bot does (open loop), each from a user
    with no message in flight."""
    idle = deque(range(users))
    turn_of = [0] * users
    tasks: set[asyncio.Task] = set()

    async def one(session: aiohttp.ClientSession, user: int) -> None:
        if await load.say(session, f"bench{user:06d}", AGAIN[turn_of[user] % len(AGAIN)]):
            turn_of[user] += 1
        idle.append(user)

    async with session_for(1000) as session:
        load.counting = warmup == 0
        began = time.perf_counter()
        total = int(rate * (warmup + duration))
        for n in range(total):
            due = began + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if n == int(rate * warmup):
                load.counting = True
            if not idle:
                load.tally.errors += 1  # every user still waiting: the bot has fallen far behind
                continue
            task = asyncio.create_task(one(session, idle.popleft()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return {"elapsed_s": time.perf_counter() - began - warmup, "users": users}


async def conversations(load: Load, count: int, concurrency: int) -> dict:
    """`count` users, each through the whole conversation."""
    users = iter(range(count))

    async def person(session: aiohttp.ClientSession) -> None:
        for user in users:
            for text in SCRIPT:
                if not await load.say(session, f"conv{user:07d}", text):
                    break

    async with session_for(concurrency) as session:
        began = time.perf_counter()
        await asyncio.gather(*(person(session) for _ in range(concurrency)))
    return {"elapsed_s": time.perf_counter() - began, "users": count}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bot", required=True)
    parser.add_argument("--api-port", type=int, required=True)
    modes = parser.add_subparsers(dest="mode", required=True)
    closed = modes.add_parser("closed")
    closed.add_argument("--concurrency", type=int, default=256)
    closed.add_argument("--users", type=int, default=20_000)
    closed.add_argument("--duration", type=float, default=20)
    closed.add_argument("--warmup", type=float, default=2)
    rate = modes.add_parser("rate")
    rate.add_argument("--rate", type=float, default=200)
    rate.add_argument("--users", type=int, default=20_000)
    rate.add_argument("--duration", type=float, default=30)
    rate.add_argument("--warmup", type=float, default=0)
    convs = modes.add_parser("conversations")
    convs.add_argument("--count", type=int, default=100_000)
    convs.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args(argv)

    load = Load(args.bot, args.api_port)
    runner = await load.serve_api()
    print("ready", flush=True)  # the bot may start now
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # … and is healthy
    try:
        if args.mode == "closed":
            result = await closed_loop(load, args.concurrency, args.users, args.duration, args.warmup)
        elif args.mode == "rate":
            result = await fixed_rate(load, args.rate, args.users, args.duration, args.warmup)
        else:
            result = await conversations(load, args.count, args.concurrency)
        await asyncio.sleep(0.5)  # a straggling extra reply still counts as unexpected
    finally:
        await runner.cleanup()
    t = load.tally
    print(
        json.dumps(
            result
            | {
                "sent": t.sent,
                "answered": t.answered,
                "errors": t.errors,
                "unexpected_replies": t.unexpected_replies,
                "ack_p50_ms": percentile(t.ack_ms, 0.5),
                "ack_p99_ms": percentile(t.ack_ms, 0.99),
                "reply_p50_ms": percentile(t.reply_ms, 0.5),
                "reply_p99_ms": percentile(t.reply_ms, 0.99),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
