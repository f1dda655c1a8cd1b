"""The WeCom benchmarks: `outage-bot run` fed encrypted callbacks by the load generator, replying to
the load generator's fake API, over loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from loadgen import BOT_ENV
from processes import Bot, LimitServer, LoadGenerator, free_port


def run_against_bot(
    mode: list[str],
    timeout: float,
    during: Callable[[Bot], None] | None = None,
    server: type[Bot] = Bot,
    workdir: Path | None = None,
) -> tuple[dict, Bot]:
    """Start the load generator and the bot (or another `server`; on the database in `workdir`, if
    given), run the load, stop the bot; `during(bot)` runs while the load runs (to sample memory)."""
    api_port = free_port()
    bot = server(BOT_ENV | {"WECOM_API_BASE_URL": f"http://127.0.0.1:{api_port}/cgi-bin/"}, workdir)
    generator = LoadGenerator(api_port, ["--bot", bot.url, *mode])
    try:
        bot.start()
        generator.go()
        if during is not None:
            during(bot)
        result = generator.result(timeout)
        result["rss_mb_end"] = bot.rss_mb()
    finally:
        if generator.proc.poll() is None:  # it failed or timed out: don't leave it behind
            generator.proc.kill()
        bot.stop()
    result["db_bytes"] = bot.db_bytes()
    return result, bot


def closed_mode(duration: float, warmup: float = 2) -> list[str]:
    """The load generator's arguments for the pipeline's load: 256 of 20,000 users talking at once."""
    return ["closed", "--concurrency", "256", "--users", "20000", "--duration", str(duration), "--warmup", str(warmup)]


def rate_mode(duration: float, warmup: float, rate: float = 200.0) -> list[str]:
    """… and for `rate` messages a second offered, whatever the bot does."""
    return ["rate", "--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup)]


def closed_loop(duration: float, server: type[Bot]) -> dict:
    return run_against_bot(closed_mode(duration), timeout=duration + 120, server=server)[0]


def pipeline(duration: float) -> dict:
    """Throughput: as many messages as the whole path carries, from ≥ 5,000 users; then, with the
    same load, the limit server (benchmarks/limit_server.py) and the ratio of the two."""
    result = closed_loop(duration, Bot)
    limit = closed_loop(duration, LimitServer)
    ours = result["answered"] / result["elapsed_s"]
    best = limit["answered"] / limit["elapsed_s"]
    return {
        "pipeline_msgs_per_s": ours,
        "pipeline_users": result["users"],
        "pipeline_errors": result["errors"] + result["unexpected_replies"],
        "limit_msgs_per_s": best,
        "limit_errors": limit["errors"] + limit["unexpected_replies"],
        "pipeline_vs_limit": ours / best,
    }


def steady(duration: float, rate: float = 200.0, warmup: float = 5.0) -> dict:
    """Latency at a steady offered rate, and how the bot's memory moves over the run."""
    samples: dict[str, float] = {}

    def sample(bot: Bot) -> None:
        time.sleep(warmup)
        samples["start"] = bot.rss_mb()

    result, _ = run_against_bot(rate_mode(duration, warmup, rate), timeout=duration + warmup + 120, during=sample)
    return {
        "ack_p99_ms": result["ack_p99_ms"],
        "pipeline_p50_ms": result["reply_p50_ms"],
        "pipeline_p99_ms": result["reply_p99_ms"],
        "soak_rss_growth_mb": result["rss_mb_end"] - samples["start"],
        "soak_messages": result["answered"],
        "soak_errors": result["errors"] + result["unexpected_replies"],
    }


def stored_conversations(count: int) -> dict:
    """`count` conversations of six turns through the bot; then the database size and the bot's RSS."""
    result, _ = run_against_bot(["conversations", "--count", str(count)], timeout=count * 6 / 50 + 120)
    return {
        "db_bytes_per_conversation": result["db_bytes"] / count,
        "rss_mb_conversations": result["rss_mb_end"],
        "conversations": count,
        "conversation_msgs_per_s": result["answered"] / result["elapsed_s"],
        "conversation_errors": result["errors"] + result["unexpected_replies"],
    }
