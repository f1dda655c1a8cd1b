"""The `outage-bot` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import uvloop

from bot import __version__, logs
from bot.cli import admin as admin_cli
from bot.cli import groups as groups_cli
from bot.cli import ops as ops_cli
from bot.cli import read as read_cli
from bot.config import Settings, SettingsError, default_db_path, load_settings
from bot.playbook.graph import to_dot, to_mermaid
from bot.playbook.lint import lint
from bot.playbook.loader import load_contact_overrides, load_playbooks
from bot.playbook.problems import PlaybookError
from bot.playbook.shipped import shipped_playbooks_dir
from bot.store.base import SchemaTooNew, StoreUnavailable
from bot.store.process_lock import DatabaseInUse

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outage-bot", description="Guides people through outages.")
    parser.add_argument("--version", action="version", version=f"outage-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = sub.add_parser("chat", help="chat with the bot in this terminal (or pipe one message per line)")
    chat.add_argument("--user", default="me", help="who you are; the same user continues the same conversation")
    chat.add_argument("--db", type=Path, help="SQLite file (default: OUTAGE_BOT_DB or the user data directory)")
    chat.add_argument("--lang", choices=["zh", "en"], help="language to start in")
    chat.add_argument("--playbooks", type=Path, help="playbook directory (default: PLAYBOOKS_DIR or shipped)")
    chat.add_argument("--jsonl", action="store_true", help="print each bot message as one JSON object per line")
    chat.add_argument("--verbose", action="store_true", help="show the log here (default: a file beside the database)")

    run = sub.add_parser("run", help="run every configured channel (Telegram, …) and the HTTP server")
    run.add_argument("--db", type=Path, help="SQLite file (default: OUTAGE_BOT_DB or the user data directory)")
    run.add_argument("--playbooks", type=Path, help="playbook directory (default: PLAYBOOKS_DIR or shipped)")

    groups_cli.add_parser(sub)
    ops_cli.add_parsers(sub)
    admin_cli.add_parsers(sub)
    read_cli.add_parser(sub)

    check = sub.add_parser("check", help="validate and lint playbooks")
    check.add_argument("paths", nargs="*", type=Path, help="files or directories (default: the playbooks in use)")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.add_argument(
        "--no-explore", action="store_true", help="skip walking every reachable conversation state (a few minutes)"
    )

    match = sub.add_parser("match", help="show which symptom a message matches, and why")
    match.add_argument("text")
    match.add_argument("--playbooks", type=Path)

    graph = sub.add_parser("graph", help="draw a playbook's state machine")
    graph.add_argument("playbook", help="a playbook id or a playbook file")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--lang", choices=["zh", "en"], default="zh")
    graph.add_argument("--playbooks", type=Path)

    test = sub.add_parser("test", help="run YAML transcript tests")
    test.add_argument("paths", nargs="*", type=Path, help="transcript files or directories (default: playbooks/tests)")
    test.add_argument("--playbooks", type=Path)
    test.add_argument("-v", "--verbose", action="store_true", help="list every case, not only failures")
    test.add_argument(
        "--coverage",
        action="store_true",
        help="list the options, causes and steps no transcript exercises (fails if any)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(OUTAGE_BOT_DB=getattr(args, "db", None), PLAYBOOKS_DIR=getattr(args, "playbooks", None))


def _playbook_dir(settings: Settings) -> Path:
    return settings.PLAYBOOKS_DIR or shipped_playbooks_dir()


def _load_catalog(settings: Settings):
    from bot.playbook.loader import load_catalog

    return load_catalog([_playbook_dir(settings)])


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import open_app
    from bot.channels.console.chat import ConsoleChat

    # the chat's log goes next to a SQLite file, or where that file would be by default
    database = default_db_path() if settings.database_is_postgres else Path(settings.OUTAGE_BOT_DB)
    first_run = not settings.database_is_postgres and not database.exists()
    if not args.verbose:  # the terminal is the chat: a turn's error must not print a traceback into it
        database.parent.mkdir(parents=True, exist_ok=True)
        logs.configure(settings, to_file=database.with_suffix(".log"))

    async def run() -> None:
        app = await open_app(settings, role="chat")
        try:
            if first_run:
                print(
                    f"outage-bot: a new database at {database} (choose another with --db or OUTAGE_BOT_DB); "
                    f"the log goes to {database.with_suffix('.log')}; `outage-bot --help` lists the commands.",
                    file=sys.stderr,
                )
            chat = ConsoleChat(app, args.user, args.lang, args.jsonl, sys.stdout)
            await chat.run(sys.stdin, interactive=sys.stdin.isatty())
        finally:
            await app.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print(file=sys.stderr)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import NoChannelConfigured, serve

    try:
        uvloop.run(serve(settings))  # libuv's loop: the server's sockets and wake-ups cost less
    except NoChannelConfigured as exc:
        print(f"outage-bot run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as exc:  # a channel refused to start, e.g. a token the platform rejects
        print(f"outage-bot run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.paths or [_playbook_dir(settings)]
    loaded = load_playbooks(paths)
    problems = list(loaded.problems)
    for book in loaded.playbooks:
        path, raw = loaded.roots[book.id]
        problems.extend(lint(book, path, raw))
    if settings.CONTACTS_FILE and not args.paths:
        try:
            load_contact_overrides(settings.CONTACTS_FILE)
        except PlaybookError as exc:
            problems.extend(exc.problems)
    for problem in sorted(problems, key=lambda p: (p.path, p.line)):
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    if loaded.ok and not args.no_explore:
        errors += _explore(loaded.playbooks)
    warnings = len(problems) - errors
    ids = ", ".join(b.id for b in loaded.playbooks) or "none"
    print(
        f"{len(loaded.playbooks)} playbook(s) loaded ({ids}); {errors} error(s), {warnings} warning(s)", file=sys.stderr
    )
    return EXIT_FAILED if errors or (args.strict and warnings) else EXIT_OK


def _explore(books) -> int:
    """Walk every playbook's reachable states; print what failed, with its path. The failure count."""
    from bot.playbook.catalog import Catalog
    from bot.playbook.explore import explore

    failures = 0
    for book in books:
        started = time.monotonic()
        result = explore(Catalog((book,)), book)
        for failure in result.failures:
            print(f"{book.id}: {failure}")
        failures += len(result.failures)
        print(
            f"{book.id}: explored {result.states} states in {result.contexts} contexts ({result.turns} turns, "
            f"{time.monotonic() - started:.0f} s): {len(result.failures)} failure(s)",
            file=sys.stderr,
        )
    return failures


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    catalog = _load_catalog(settings)
    result = catalog.matcher.match(args.text, settings.MATCH_THRESHOLD)
    print(
        json.dumps({"symptom": result.symptom, "score": round(result.score, 4), "why": result.why}, ensure_ascii=False)
    )
    return EXIT_OK


def cmd_graph(args: argparse.Namespace, settings: Settings) -> int:
    target = Path(args.playbook)
    if target.suffix in (".yaml", ".yml") or target.exists():
        loaded = load_playbooks([target])
        if not loaded.ok:
            raise PlaybookError(loaded.problems)
        book = loaded.playbooks[0]
    else:
        book = _load_catalog(settings).playbook(args.playbook)
        if book is None:
            print(f"outage-bot graph: no playbook with id '{args.playbook}'", file=sys.stderr)
            return EXIT_USAGE
    print(to_dot(book, args.lang) if args.format == "dot" else to_mermaid(book, args.lang), end="")
    return EXIT_OK


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.transcript_coverage import Coverage, gaps
    from bot.transcripts import run_transcripts

    catalog = _load_catalog(settings)
    paths = args.paths or [_playbook_dir(settings) / "tests"]
    coverage = Coverage() if args.coverage else None
    results = run_transcripts(catalog, paths, coverage)
    for result in results:
        if not result.ok:
            print(f"FAILED {result.id}")
            for failure in result.failures:
                print(f"    {failure}")
        elif args.verbose:
            print(f"PASSED {result.id}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    uncovered = []
    if coverage is not None:
        uncovered, totals = gaps(catalog, coverage)
        for gap in uncovered:
            print(f"NOT COVERED {gap}")
        print("coverage: " + ", ".join(f"{kind}s {hit}/{total}" for kind, (hit, total) in totals.items()))
    return EXIT_FAILED if failed or not results or uncovered else EXIT_OK


# subcommands that only talk to the database, each an async function of (args, settings)
ASYNC_COMMANDS = {
    "groups": groups_cli.run,
    "outage": ops_cli.outage,
    "reminders": ops_cli.reminders,
    "records": ops_cli.records,
    "backup": admin_cli.backup,
    "stats": admin_cli.stats,
    "doctor": admin_cli.doctor,
    "read": read_cli.run,
}


COMMANDS = {
    "run": cmd_run,
    "chat": cmd_chat,
    "check": cmd_check,
    "match": cmd_match,
    "graph": cmd_graph,
    "test": cmd_test,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"outage-bot: bad setting:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(settings)
    try:
        if args.command in ASYNC_COMMANDS:
            return asyncio.run(ASYNC_COMMANDS[args.command](args, settings))
        return COMMANDS[args.command](args, settings)
    except PlaybookError as exc:
        for problem in exc.problems:
            if problem.severity == "error":
                print(problem, file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK
    except (StoreUnavailable, SchemaTooNew, DatabaseInUse) as exc:
        print(f"outage-bot {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # a file named on the command line can't be written or read
        print(f"outage-bot {args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_FAILED
