"""The reliability suite on PostgreSQL with three workers: WeCom callbacks and Telegram webhooks
spread over all of them (as a load balancer would), workers killed with -9 at random moments, the
leader among them, and restarted. Every acknowledged message is processed exactly once and answered
in order; a send in flight at a kill may repeat (counted); the lead moves; Telegram's limits hold
across the workers."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.bot_process import BotProcess
from tests.conftest import random_seed
from tests.fakes.http_server import wait_until
from tests.postgres import drop_schema, fresh_schema_url, idle
from tests.test_reliability import SCRIPT, Streams, both_channels, check_exactly_once, wait_all_answered

WORKERS = 3


@pytest.fixture
def database():
    url, schema = fresh_schema_url()
    yield url, schema
    asyncio.run(drop_schema(schema))


def leader_of(workers: list[BotProcess]) -> BotProcess | None:
    for worker in workers:
        try:
            if httpx.get(f"{worker.url}/healthz", timeout=2).json().get("leader"):
                return worker
        except (httpx.HTTPError, ValueError):
            continue
    return None


def test_three_workers_killed_at_random_lose_nothing_and_the_lead_moves(fakes, database, tmp_path):
    telegram, wecom = fakes
    url, schema = database
    seed = random_seed()
    rng = random.Random(seed)
    users = 10
    env = both_channels(wecom, telegram) | {"OUTAGE_BOT_DB": url}
    workers = [BotProcess(tmp_path, env).start() for _ in range(WORKERS)]
    streams = Streams(workers, wecom, telegram, users, rng)
    kills, leaders_killed = 0, 0

    async def killer(stream: asyncio.Task) -> None:
        """The leader first, then another worker while the first is still coming back."""
        nonlocal kills, leaders_killed
        restarts, coming_back = [], set()
        while not stream.done() and kills < 3:
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            if stream.done():
                break
            leader = await asyncio.to_thread(leader_of, workers)
            # not one still coming back: its start would see it die (that is a kill during start-up)
            alive = [w for w in workers if w not in coming_back and w.proc.poll() is None]
            if not alive:
                continue
            victim = leader if kills == 0 and leader in alive else rng.choice(alive)
            leaders_killed += victim is leader
            victim.kill()
            kills += 1
            coming_back.add(victim)
            restart = asyncio.create_task(asyncio.to_thread(victim.start))
            restart.add_done_callback(lambda _, worker=victim: coming_back.discard(worker))
            restarts.append(restart)
        await asyncio.gather(*restarts)

    async def scenario() -> None:
        stream = asyncio.create_task(streams.run())
        await asyncio.gather(stream, killer(stream))

    try:
        asyncio.run(scenario())
        wait_all_answered(wecom, telegram, users, timeout=90)
        wait_until(lambda: idle(url, schema), 30, "nothing queued or in flight")  # a late repeat shows by then
        repeated = check_exactly_once(wecom, telegram, users, kills)
        leads = sum("leads (" in worker.log.read_text() for worker in workers)
        assert leader_of(workers) is not None
    finally:
        for worker in workers:
            worker.stop()
    print(
        f"seed {seed}: {kills} kills ({leaders_killed} of the leader), {streams.acked} messages acknowledged "
        f"after {streams.deliveries} deliveries, {repeated} sends repeated after a kill, {leads} workers led"
    )
    assert kills >= 2 and leaders_killed >= 1 and leads >= 2
    assert streams.acked == 2 * users * len(SCRIPT)
    assert telegram.violations == []
    assert repeated <= kills * 2 * 32
