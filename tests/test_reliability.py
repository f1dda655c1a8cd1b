"""Nothing lost, nothing answered twice: `outage-bot run` killed with SIGKILL at random moments while
WeCom and Telegram webhooks stream in, and every message delivered several times over.

Each user walks the same six-turn conversation, and each turn has exactly one reply, recognisable
by what it asks; so a user's replies, in order, show whether each message was processed exactly
once. Platforms redeliver what was not acknowledged (WeCom retries, Telegram resends the update),
and so do these tests, with the same MsgId or update_id.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from tests.bot_process import BotProcess
from tests.conftest import ROOT, random_seed
from tests.fakes.http_server import wait_until
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom, WeComCallbacks
from tests.test_wecom import wecom_env

SCRIPT = ("发票查不到", "1", "2", "3", "跳过", "1")
# what the reply to each turn of SCRIPT asks or says
REPLY_MARKERS = ("是在哪里查不到", "什么时候开具", "上传状态", "请粘贴发票号码", "税务部门最近是否发布", "最可能的原因")
SECRET = "reliability-secret"


def both_channels(wecom: FakeWeCom, telegram: FakeTelegram) -> dict[str, str]:
    return wecom_env(
        wecom,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_BASE_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        WECOM_MAX_CLOCK_SKEW_S="0",
    )


class Streams:
    """Users on both platforms, each sending SCRIPT one message after another, every message
    redelivered until the bot acknowledges it (or `copies` times at once, in any order)."""

    def __init__(
        self,
        bot: BotProcess | list[BotProcess],
        wecom: FakeWeCom,
        telegram: FakeTelegram,
        users: int,
        rng: random.Random,
    ):
        # several workers: each delivery goes to any of them, as behind a load balancer
        self.bots = bot if isinstance(bot, list) else [bot]
        self.wecom, self.telegram, self.rng = wecom, telegram, rng
        self.users = [("wecom", f"w{n}") for n in range(users)] + [("telegram", 5000 + n) for n in range(users)]
        self.acked = 0
        self.deliveries = 0

    async def run(self, copies: tuple[int, int] = (1, 1)) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            wecom = WeComCallbacks(client)  # one sequence of MsgIds for everyone, as on WeCom
            await asyncio.gather(*(self._user(wecom, channel, user, copies) for channel, user in self.users))

    async def _user(self, wecom: WeComCallbacks, channel: str, user, copies: tuple[int, int]) -> None:
        client = wecom.client
        for text in SCRIPT:
            await asyncio.sleep(self.rng.uniform(0, 0.2))
            if channel == "wecom":
                plain = wecom.text_xml(user, text, wecom.next_id())
                request = {"path": "/wecom/callback", "plain": plain}
            else:
                update = self.telegram.message(text, user=user)
                request = {
                    "path": "/telegram/webhook",
                    "json": update,
                    "headers": {"X-Telegram-Bot-Api-Secret-Token": SECRET},
                }
            count = self.rng.randint(*copies)
            results = await asyncio.gather(*(self._deliver(client, wecom, request) for _ in range(count)))
            assert all(results)
            self.acked += 1

    async def _deliver(self, client: httpx.AsyncClient, wecom: WeComCallbacks, request: dict) -> bool:
        """POST until the bot answers 200, as the platforms do."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(0, 0.01))  # copies arrive in any order
            self.deliveries += 1
            url = self.rng.choice(self.bots).url + request["path"]
            try:
                if "plain" in request:  # WeCom signs each delivery anew; the MsgId stays the same
                    params, body = wecom.envelope(request["plain"])
                    response = await client.post(url, params=params, content=body)
                else:
                    response = await client.post(url, json=request["json"], headers=request["headers"])
            except httpx.HTTPError:
                await asyncio.sleep(0.05)  # the bot is down: try again shortly
                continue
            if response.status_code == 200:
                return True
            assert response.status_code < 500, response.text
            await asyncio.sleep(0.05)
        return False


def replies_by_user(wecom: FakeWeCom, telegram: FakeTelegram) -> dict[str, list[str]]:
    replies: dict[str, list[str]] = {}
    with wecom.lock:
        for sent in wecom.sent:
            replies.setdefault(f"wecom:{sent['to']}", []).append(sent["content"])
    with telegram.lock:
        for sent in telegram.sent:
            replies.setdefault(f"telegram:{sent['params']['chat_id']}", []).append(sent["params"]["text"])
    return replies


def turns_answered(replies: list[str]) -> tuple[list[int], list[int]]:
    """Which SCRIPT turn each reply answers, with repeats of the same send folded; and how many
    copies of each there were."""
    turns, copies = [], []
    for text in replies:
        turn = next((i for i, marker in enumerate(REPLY_MARKERS) if marker in text), None)
        assert turn is not None, f"a reply to no turn of the script: {text!r}"
        if turns and turns[-1] == turn:
            copies[-1] += 1
        else:
            turns.append(turn)
            copies.append(1)
    return turns, copies


def wait_all_answered(wecom: FakeWeCom, telegram: FakeTelegram, users: int, timeout: float = 60) -> None:
    def done():
        replies = replies_by_user(wecom, telegram)
        answered = [turns_answered(r)[0] for r in replies.values()]
        return len(replies) == 2 * users and all(len(t) == len(SCRIPT) for t in answered)

    wait_until(done, timeout, "every user's six replies")


def check_exactly_once(wecom: FakeWeCom, telegram: FakeTelegram, users: int, kills: int = 0) -> int:
    """Every user got one reply per turn, in order, each at most once more per kill (a send in
    flight when the bot died); returns how many extra copies there were."""
    replies = replies_by_user(wecom, telegram)
    assert len(replies) == 2 * users
    repeated = 0
    for user, texts in replies.items():
        turns, copies = turns_answered(texts)
        assert turns == list(range(len(SCRIPT))), f"{user}: replies answer turns {turns}"
        assert max(copies) <= 1 + kills, f"{user}: copies of each reply {copies} after {kills} kills"
        repeated += sum(copies) - len(copies)
    return repeated


def test_kill_9_at_random_moments_loses_nothing_and_repeats_at_most_in_flight_sends(fakes, tmp_path):
    telegram, wecom = fakes
    seed = random_seed()
    rng = random.Random(seed)
    users = 12
    bot = BotProcess(tmp_path, both_channels(wecom, telegram)).start()
    streams = Streams(bot, wecom, telegram, users, rng)
    kills = 0

    async def killer(stream: asyncio.Task) -> None:
        nonlocal kills
        while not stream.done() and kills < 4:
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            if stream.done():
                break
            bot.kill()  # SIGKILL: no cleanup, no graceful stop
            kills += 1
            await asyncio.sleep(rng.uniform(0, 0.3))
            await asyncio.to_thread(bot.start)

    async def scenario() -> None:
        stream = asyncio.create_task(streams.run())
        await asyncio.gather(stream, killer(stream))

    try:
        asyncio.run(scenario())
        wait_all_answered(wecom, telegram, users)
        bot.wait_idle()  # nothing queued or in flight: a late repeat would have shown by now
        repeated = check_exactly_once(wecom, telegram, users, kills)
    finally:
        assert bot.stop() == 0, bot.log.read_text()
    print(
        f"seed {seed}: {kills} kills, {streams.acked} messages acknowledged after {streams.deliveries} deliveries, "
        f"{repeated} sends repeated after a kill"
    )
    assert kills >= 1 and streams.acked == 2 * users * len(SCRIPT)
    # a repeat is a send that was on its way when the bot died: at most 32 at a time per channel
    assert repeated <= kills * 2 * 32


def test_duplicate_storm_each_message_delivered_one_to_four_times_is_processed_once(fakes, tmp_path):
    telegram, wecom = fakes
    seed = random_seed()
    users = 15
    bot = BotProcess(tmp_path, both_channels(wecom, telegram)).start()
    streams = Streams(bot, wecom, telegram, users, random.Random(seed))
    try:
        asyncio.run(streams.run(copies=(1, 4)))
        wait_all_answered(wecom, telegram, users)
        bot.wait_idle()
        assert check_exactly_once(wecom, telegram, users) == 0, f"seed {seed}"
    finally:
        assert bot.stop() == 0, bot.log.read_text()
    assert streams.deliveries > streams.acked  # there were duplicates to recognise


def test_a_second_bot_on_the_same_database_refuses_to_start_and_names_the_first(fakes, tmp_path):
    telegram, wecom = fakes
    first = BotProcess(tmp_path, both_channels(wecom, telegram)).start()
    try:
        second = BotProcess(tmp_path, both_channels(wecom, telegram))
        refused = subprocess.run(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=second.env, capture_output=True, text=True, timeout=30
        )
        assert refused.returncode == 1  # at once: the timeout above would have failed a wait
        assert f"is in use by outage-bot run (pid {first.proc.pid})" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        chat = subprocess.run(
            [sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=second.env, input="发票查不到\n",
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert chat.returncode == 1 and f"(pid {first.proc.pid})" in chat.stderr
        # operator verbs that write beside a running bot keep working
        declared = subprocess.run(
            [sys.executable, "-m", "bot", "outage", "start", "--summary", "发票系统维护"], cwd=ROOT, env=second.env,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert declared.returncode == 0, declared.stderr
        first.kill()  # kill -9: the operating system releases the lock with the process
        restarted = BotProcess(tmp_path, both_channels(wecom, telegram)).start()
        assert restarted.stop() == 0
    finally:
        first.stop()


def test_inbox_ids_are_never_reused_so_a_delete_by_id_touches_only_its_own_row(tmp_path):
    from bot.engine.types import ConversationKey, Inbound
    from bot.store.sqlite import SqliteStore

    async def scenario() -> tuple[int, int]:
        async with SqliteStore(tmp_path / "ids.db") as store:
            now = datetime.now(UTC)
            key = ConversationKey("console", "u", "u")
            first = await store.accept("console", "m1", Inbound(key, now, text="a"))
            async with store.transaction() as db:
                await db.execute("DELETE FROM inbox WHERE id = ?", (first,))  # processed and deleted
            second = await store.accept("console", "m2", Inbound(key, now, text="b"))
            return first, second

    first, second = asyncio.run(scenario())
    assert second > first
