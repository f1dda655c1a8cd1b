"""Cost as the stored data grows: the pipeline's throughput and latency on a database holding 10
thousand conversations and on one holding 1 million, with what a year of use leaves at the default
retention (RETENTION_DAYS_LOG of transcript and reports, RETENTION_DAYS_QUEUE of dedupe keys).

The rows are the bot's own: a hundred conversations go through `outage-bot run` first, and their
rows (state, transcript lines, dedupe keys, reports) are copied under new names and times until the
database holds as many conversations as wanted, their last turns spread evenly over the year.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from wecom_load import closed_mode, rate_mode, run_against_bot

from bot.config import Settings

DAY = 86_400.0
TEMPLATE_CONVERSATIONS = 100


def template(workdir: Path) -> Path:
    """A database with TEMPLATE_CONVERSATIONS real conversations of the benchmark script."""
    _, bot = run_against_bot(["conversations", "--count", str(TEMPLATE_CONVERSATIONS)], timeout=120)
    path = workdir / "template.db"
    shutil.copy(bot.db, path)  # the bot has stopped: its WAL is checkpointed into the file
    return path


def seed(source: Path, target: Path, conversations: int, now: float) -> None:
    """`target`: the template's schema and `conversations` conversations as a year leaves them."""
    settings = Settings()
    log_days, queue_days = settings.RETENTION_DAYS_LOG, settings.RETENTION_DAYS_QUEUE
    shutil.copy(source, target)
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # only while it is built
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE sample_states AS SELECT row_number() OVER (ORDER BY key) - 1 AS n, key, state "
               "FROM conversations")  # fmt: skip
    db.execute("CREATE TEMP TABLE sample_turns AS SELECT s.n, t.said, t.answer, "
               "row_number() OVER (PARTITION BY t.conversation ORDER BY t.id) AS turn "
               "FROM transcript t JOIN sample_states s ON s.key = t.conversation")  # fmt: skip
    samples = db.execute("SELECT COUNT(*) FROM sample_states").fetchone()[0]
    said = db.execute("SELECT said FROM reports LIMIT 1").fetchone()
    for table in ("conversations", "transcript", "seen", "reports"):
        db.execute(f"DELETE FROM {table}")
    # conversation i (0 = the oldest) last spoke at `now - year + i * step`, from sample i % samples
    step = 365 * DAY / conversations
    db.execute("CREATE TEMP TABLE seeded AS WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i "
               "WHERE n < ?) SELECT n, 'g' || printf('%07d', n) AS user, ? - 365 * ? + n * ? AS at FROM i",
               (conversations - 1, now, DAY, step))  # fmt: skip
    db.execute(
        "INSERT INTO conversations (key, channel, chat, user, state, updated_at) "
        "SELECT 'wecom:' || user || ':' || user, 'wecom', user, user, s.state, at "
        "FROM seeded JOIN sample_states s ON s.n = seeded.n % ?",
        (samples,),
    )
    # in time order, as they were written: transcript ids grow with time
    db.execute(
        "INSERT INTO transcript (conversation, at, said, answer) "
        "SELECT 'wecom:' || user || ':' || user, at - (7 - t.turn) * 30, t.said, t.answer "
        "FROM seeded JOIN sample_turns t ON t.n = seeded.n % ? WHERE at >= ? ORDER BY at - (7 - t.turn) * 30",
        (samples, now - log_days * DAY),
    )
    db.execute(
        "INSERT INTO reports (at, user, symptom, said) SELECT at, 'wecom:' || user, 'blank_query', ? "
        "FROM seeded WHERE at >= ?",
        (said[0] if said else "发票查不到", now - log_days * DAY),
    )
    db.execute(
        "INSERT INTO seen (channel, dedupe_key, at) SELECT 'wecom', 'msg:' || user || ':' || t.turn, at "
        "FROM seeded JOIN sample_turns t ON t.n = seeded.n % ? WHERE at >= ?",
        (samples, now - queue_days * DAY),
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def measured(db: Path, pipeline_s: float, steady_s: float) -> dict:
    """The pipeline and the latency at 200 msg/s on a copy of `db`, each from its own start."""
    figures: dict = {}
    for mode, seconds in ((closed_mode(pipeline_s), pipeline_s), (rate_mode(steady_s, 2), steady_s)):
        workdir = Path(tempfile.mkdtemp(prefix="outage-bot-growth-"))
        shutil.copy(db, workdir / "bot.db")
        try:
            result, _ = run_against_bot(mode, timeout=seconds + 180, workdir=workdir)
            if mode[0] == "closed":
                figures["msgs_per_s"] = result["answered"] / result["elapsed_s"]
            else:
                figures["p99_ms"] = result["reply_p99_ms"]
                figures["rss_mb"] = result["rss_mb_end"]
            figures["errors"] = figures.get("errors", 0) + result["errors"] + result["unexpected_replies"]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return figures


def growth(small: int, large: int, pipeline_s: float, steady_s: float) -> dict:
    """The same load on `small` and on `large` stored conversations."""
    with tempfile.TemporaryDirectory(prefix="outage-bot-growth-") as tmp:
        workdir = Path(tmp)
        source = template(workdir)
        figures = {}
        for size in (small, large):
            began = time.monotonic()
            db = workdir / f"seeded-{size}.db"
            seed(source, db, size, time.time())
            built = time.monotonic() - began
            figures[size] = measured(db, pipeline_s, steady_s) | {
                "stored_bytes_per_conversation": db.stat().st_size / size,
                "seed_s": built,
            }
            db.unlink()
    a, b = figures[small], figures[large]
    return {
        "growth_small_conversations": small,
        "growth_large_conversations": large,
        "growth_small_msgs_per_s": a["msgs_per_s"],
        "growth_large_msgs_per_s": b["msgs_per_s"],
        "growth_throughput_ratio": b["msgs_per_s"] / a["msgs_per_s"],
        "growth_small_p99_ms": a["p99_ms"],
        "growth_large_p99_ms": b["p99_ms"],
        "growth_p99_ratio": b["p99_ms"] / a["p99_ms"],
        "growth_small_db_bytes_per_conversation": a["stored_bytes_per_conversation"],
        "growth_large_db_bytes_per_conversation": b["stored_bytes_per_conversation"],
        "growth_small_rss_mb": a["rss_mb"],
        "growth_large_rss_mb": b["rss_mb"],
        "growth_errors": a["errors"] + b["errors"],
        "growth_seed_s": a["seed_s"] + b["seed_s"],
    }


if __name__ == "__main__":
    import json
    import sys

    quick = "--quick" in sys.argv
    print(json.dumps(growth(10_000, 100_000 if quick else 1_000_000, 5 if quick else 15, 10 if quick else 20)))
