"""`outage-bot backup|stats|doctor`: what operators run on the bot's machine."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime
from pathlib import Path

import httpx

from bot.app import open_store
from bot.channels import registry
from bot.config import Settings
from bot.playbook.lint import lint
from bot.playbook.loader import load_contact_overrides, load_playbooks
from bot.playbook.problems import PlaybookError
from bot.playbook.shipped import shipped_playbooks_dir
from bot.store.codec import to_epoch
from bot.store.postgres import redacted
from bot.store.schema import SCHEMA_VERSION
from bot.store.sql import SqlStore
from bot.store.sqlite import SqliteStore

FINISHED_NODES = ("end", "finished", "menu", "new")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    backup = sub.add_parser("backup", help="a consistent copy of the live database")
    backup.add_argument("file", type=Path)
    backup.add_argument("--db", type=Path)
    stats = sub.add_parser("stats", help="conversations, where people stop, resolution, handovers")
    stats.add_argument("--since", metavar="YYYY-MM-DD")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--db", type=Path)
    doctor = sub.add_parser("doctor", help="check settings, database, playbooks and platform credentials")
    doctor.add_argument("--db", type=Path)
    doctor.add_argument("--offline", action="store_true", help="don't contact Telegram or WeCom")


def _is_live_file(target: Path, database: Path) -> bool:
    """The database itself, its -wal or -shm, or another name (a hard link) for one of them."""
    for live in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if target.resolve() == live.resolve():
            return True
        if target.exists() and live.exists() and target.samefile(live):
            return True
    return False


async def backup(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_is_postgres:
        print(
            "outage-bot backup: copies a SQLite file; for PostgreSQL use pg_dump "
            f"(for example: pg_dump -Fc -f {args.file} DBNAME, with --schema=NAME for a schema of its own)",
            file=sys.stderr,
        )
        return 2
    if _is_live_file(args.file, Path(settings.OUTAGE_BOT_DB)):
        print("outage-bot backup: the backup file can't be the live database or its -wal/-shm", file=sys.stderr)
        return 2
    if args.file.exists() and not args.file.is_file():
        print(f"outage-bot backup: {args.file} is not a file", file=sys.stderr)
        return 2
    async with open_store(settings, must_exist=True) as store:
        await store.backup(args.file)
    print(f"backed up {settings.OUTAGE_BOT_DB} to {args.file} ({args.file.stat().st_size} bytes)")
    return 0


# ---- stats -------------------------------------------------------------------------------------


OUTCOMES = ("solved", "partly", "not_solved")  # the bot's own "did this solve it?"
REACTIONS = ("liked", "disliked")


async def collect_stats(store: SqlStore, since: datetime | None) -> dict:
    start = to_epoch(since) if since else 0.0
    db = store.db

    async def grouped(sql: str) -> dict:
        return {str(k) if k is not None else "none": v for k, v in await db.execute_fetchall(sql, (start,))}

    by_channel = await grouped("SELECT channel, COUNT(*) FROM conversations WHERE updated_at >= ? GROUP BY channel")
    by_symptom = await grouped(
        "SELECT json_extract(state, '$.symptom'), COUNT(*) FROM conversations WHERE updated_at >= ? "
        "AND json_extract(state, '$.symptom') IS NOT NULL GROUP BY 1"
    )
    by_cause = await grouped(
        "SELECT json_extract(state, '$.cause'), COUNT(*) FROM conversations WHERE updated_at >= ? "
        "AND json_extract(state, '$.cause') IS NOT NULL GROUP BY 1"
    )
    stops = await db.execute_fetchall(
        "SELECT json_extract(state, '$.node'), json_extract(state, '$.cause'), "
        "COALESCE(CAST(json_extract(state, '$.step') AS INTEGER), 0), COUNT(*) FROM conversations "
        "WHERE updated_at >= ? "
        "GROUP BY 1, 2, 3",
        (start,),
    )
    stopped_at: dict[str, int] = {}
    for node, cause, step, count in stops:
        if node in FINISHED_NODES:
            continue
        where = f"steps:{cause}:{int(step) + 1}" if node == "steps" else node
        stopped_at[where] = stopped_at.get(where, 0) + count
    feedback = await grouped("SELECT outcome, COUNT(*) FROM feedback WHERE at >= ? GROUP BY outcome")
    feedback_by_channel = await db.execute_fetchall(
        "SELECT channel, SUM(CASE WHEN outcome = 'solved' THEN 1 ELSE 0 END), COUNT(*) FROM feedback "
        "WHERE at >= ? "
        "AND outcome IN ('solved', 'partly', 'not_solved') GROUP BY channel",
        (start,),
    )
    answered = sum(feedback.get(k, 0) for k in OUTCOMES)
    cases = await db.execute_fetchall(
        "SELECT channel, status, created_at, claimed_at FROM cases WHERE created_at >= ?", (start,)
    )
    waits = [(c[3] - c[2]) / 60 for c in cases if c[3] is not None]
    handovers_by_channel: dict[str, int] = {}
    for channel, *_ in cases:
        handovers_by_channel[channel] = handovers_by_channel.get(channel, 0) + 1
    return {
        "since": since.date().isoformat() if since else None,
        "conversations": {
            "total": sum(by_channel.values()),
            "by_channel": by_channel,
            "by_symptom": by_symptom,
            "by_cause": by_cause,
        },
        "stopped_at": dict(sorted(stopped_at.items(), key=lambda kv: -kv[1])),
        "feedback": {
            **{k: feedback.get(k, 0) for k in OUTCOMES},
            # a platform's own 👍/👎 under a reply (the intelligent bot's feedback events)
            "reactions": {k: feedback.get(k, 0) for k in REACTIONS},
            # the after-recovery check each person got the next working morning
            "after_recovery": {
                "fine": feedback.get("recheck_fine", 0),
                "still_missing": feedback.get("recheck_missing", 0),
            },
            "resolution_rate": round(feedback.get("solved", 0) / answered, 3) if answered else None,
            "resolution_rate_by_channel": {c: round(s / n, 3) for c, s, n in feedback_by_channel},
        },
        "handovers": {
            "total": len(cases),
            "by_channel": handovers_by_channel,
            "claimed": len(waits),
            "open": sum(1 for c in cases if c[1] != "closed"),
            "median_minutes_to_claim": round(statistics.median(waits), 1) if waits else None,
        },
    }


async def stats(args: argparse.Namespace, settings: Settings) -> int:
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=settings.tz)
        except ValueError:
            print("outage-bot stats: --since takes YYYY-MM-DD", file=sys.stderr)
            return 2
    async with open_store(settings, must_exist=True) as store:
        report = await collect_stats(store, since)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    conv = report["conversations"]
    print(f"conversations: {conv['total']}  by channel: {_pairs(conv['by_channel'])}")
    print(f"by symptom: {_pairs(conv['by_symptom'])}")
    print(f"by cause: {_pairs(conv['by_cause'])}")
    print(f"where people stopped: {_pairs(report['stopped_at'], 'nowhere')}")
    fb = report["feedback"]
    rate = f"{fb['resolution_rate']:.0%}" if fb["resolution_rate"] is not None else "n/a"
    print(
        f"did it solve it: solved {fb['solved']}, partly {fb['partly']}, not solved {fb['not_solved']} "
        f"(resolution {rate})"
        + (
            f"; reactions: liked {fb['reactions']['liked']}, disliked {fb['reactions']['disliked']}"
            if any(fb["reactions"].values())
            else ""
        )
        + (
            "; after recovery: fine {fine}, still missing {still_missing}".format(**fb["after_recovery"])
            if any(fb["after_recovery"].values())
            else ""
        )
    )
    ho = report["handovers"]
    minutes = ho["median_minutes_to_claim"]
    print(
        f"handovers: {ho['total']}"
        + (f" ({_pairs(ho['by_channel'])})" if ho["by_channel"] else "")
        + f", claimed {ho['claimed']}, open {ho['open']}, median time to claim "
        + (f"{minutes} min" if minutes is not None else "n/a")
    )
    return 0


def _pairs(mapping: dict, empty: str = "none") -> str:
    return ", ".join(f"{k} {v}" for k, v in mapping.items()) or empty


# ---- doctor ------------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.failed = False

    def ok(self, text: str) -> None:
        print(f"✓ {text}")

    def bad(self, text: str, fix: str) -> None:
        self.failed = True
        print(f"✗ {text}\n    → {fix}")

    def note(self, text: str) -> None:
        print(f"· {text}")


async def doctor(args: argparse.Namespace, settings: Settings) -> int:
    report = Report()
    report.ok("settings are valid")
    await _check_database(settings, report)
    _check_playbooks(settings, report)
    if not registry.configured(settings):
        report.note("no channel configured: `outage-bot run` would refuse to start (see .env.example)")
    checks = [p.doctor for p in registry.PLATFORMS.values() if p.doctor is not None]
    if args.offline:
        for check in checks:
            await check(settings, None, report)
        report.note("--offline: platform credentials not checked")
    else:
        async with httpx.AsyncClient(timeout=5) as client:
            for check in checks:
                await check(settings, client, report)
    return 1 if report.failed else 0


async def _check_database(settings: Settings, report: Report) -> None:
    if settings.database_is_postgres:
        await _check_postgres(settings, report)
        return
    path = Path(settings.OUTAGE_BOT_DB)
    if not path.exists():
        report.note(f"no database at {path} yet: `outage-bot run` or `outage-bot chat` creates it")
        return
    try:
        async with SqliteStore(path, must_exist=True) as store:
            integrity = await store.integrity()
            version = await store.schema_version()
            mode = (await store.db.execute_fetchall("PRAGMA journal_mode"))[0][0]
    except Exception as exc:
        report.bad(f"database {path}: {exc}", "check OUTAGE_BOT_DB, the file's permissions and free disk space")
        return
    if integrity != "ok":
        report.bad(
            f"database {path} fails its integrity check: {integrity}",
            "stop the bot and restore the latest `outage-bot backup`",
        )
    elif version != SCHEMA_VERSION or mode != "wal":
        report.bad(
            f"database {path}: schema {version} (want {SCHEMA_VERSION}), journal {mode}",
            "run the bot once to migrate it; make sure nothing else changes its journal mode",
        )
    else:
        report.ok(f"database {path}: integrity ok, schema {version}, WAL")


def _check_playbooks(settings: Settings, report: Report) -> None:
    directory = settings.PLAYBOOKS_DIR or shipped_playbooks_dir()
    loaded = load_playbooks([directory])
    problems = list(loaded.problems)
    for book in loaded.playbooks:
        problems.extend(lint(book, *loaded.roots[book.id]))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        report.bad(
            f"playbooks in {directory}: {len(errors)} error(s), first: {errors[0]}",
            "run `outage-bot check` and fix what it lists",
        )
    else:
        warnings = len(problems) - len(errors)
        report.ok(
            f"playbooks in {directory}: {', '.join(b.id for b in loaded.playbooks)}"
            + (f" ({warnings} warning(s): `outage-bot check`)" if warnings else "")
        )
    if settings.CONTACTS_FILE:
        try:
            load_contact_overrides(settings.CONTACTS_FILE)
            report.ok(f"contacts file {settings.CONTACTS_FILE}")
        except PlaybookError as exc:
            report.bad(f"contacts file: {exc.problems[0]}", "fix CONTACTS_FILE as `outage-bot check` shows")


async def _check_postgres(settings: Settings, report: Report) -> None:
    store = open_store(settings)
    shown = redacted(settings.OUTAGE_BOT_DB)
    try:
        async with store:
            version = await store.schema_version()
            server = await store.db.fetchval("SHOW server_version")
    except Exception as exc:
        report.bad(f"database: {exc}", "check OUTAGE_BOT_DB: host, port, user, password and database name")
        return
    report.ok(f"database {shown} (PostgreSQL {server}), schema {store.schema}: version {version}")
