"""`outage-bot outage|reminders|records`: operations from the command line.

They write to the same database as the running bot, which delivers what they queue within a
second or two; the bot's machine is trusted, so no admin list applies here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from bot.app import load_playbooks_for, open_store
from bot.config import Settings
from bot.features.crowd import declare
from bot.features.maintenance import MaintenanceWindows
from bot.features.outages import OutageError, Outages, parse_moment, parse_until, pick_components, pick_system
from bot.features.remind_parse import RemindError, RemindSpec, parse_remind
from bot.features.workcal import WorkCalendar, parse_hours
from bot.runtime.clock import SystemClock
from bot.store.base import OutageConflict

CSV_COLUMNS = ["id", "user", "number", "amount", "issued_on", "counterparty", "recorded_at"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    outage = sub.add_parser("outage", help="declare, update, resolve and list outages")
    actions = outage.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="declare an outage and tell every subscribed group")
    start.add_argument("--summary", help="what is wrong (required unless --from-alert)")
    start.add_argument("--from-alert", type=int, metavar="N", help="declare what crowd alert N noticed")
    start.add_argument("--system", help="the system (default: the only playbook's)")
    start.add_argument("--region", help="where it applies, e.g. 北京 or 北京,上海 (the bot asks users where they are)")
    start.add_argument(
        "--component", action="append", default=[], metavar="PART",
        help="a part of the system it concerns (repeatable; the playbook's components, e.g. 查验平台 or verify)",
    )  # fmt: skip
    start.add_argument("--until", metavar="TIME", help="expected end: ISO 8601 or HH:MM (OUTAGE_BOT_TZ)")
    start.add_argument("--link", help="the official notice")
    start.add_argument("--next-update", metavar="TIME", help="the next update promised by: ISO 8601 or HH:MM")
    start.add_argument("--dry-run", action="store_true", help="print the message and its groups; send nothing")
    update = actions.add_parser("update", help="tell the groups how it is going")
    update.add_argument("--summary", required=True)
    update.add_argument("--until", metavar="TIME")
    update.add_argument("--next-update", metavar="TIME", help="the next update promised by: ISO 8601 or HH:MM")
    update.add_argument("--system")
    update.add_argument("--dry-run", action="store_true")
    resolve = actions.add_parser("resolve", help="announce recovery, with the after-recovery checklist")
    resolve.add_argument("--system")
    resolve.add_argument("--dry-run", action="store_true")
    schedule = actions.add_parser("schedule", help="announce a maintenance window: it opens and closes by itself")
    schedule.add_argument("--summary", required=True)
    schedule.add_argument("--from", dest="starts", required=True, metavar="TIME", help="ISO 8601 or HH:MM")
    schedule.add_argument("--until", dest="ends", required=True, metavar="TIME", help="ISO 8601 or HH:MM")
    schedule.add_argument("--component", action="append", default=[], metavar="PART")
    schedule.add_argument("--region")
    schedule.add_argument("--quiet", action="store_true", help="don't announce the start and the end themselves")
    schedule.add_argument("--system")
    schedule.add_argument("--dry-run", action="store_true")
    windows = actions.add_parser("windows", help="the maintenance windows still to come or running")
    windows.add_argument("--json", action="store_true")
    unschedule = actions.add_parser("unschedule", help="cancel a maintenance window")
    unschedule.add_argument("id", type=int)
    status = actions.add_parser("status", help="the open outages")
    status.add_argument("--json", action="store_true")

    reminders = sub.add_parser("reminders", help="reminders to groups and chats")
    actions = reminders.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="remind a group")
    add.add_argument("--group", required=True, help="a group's name (outage-bot groups list)")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--in", dest="delay", metavar="DURATION", help="e.g. 30m, 45s, 1h30m")
    when.add_argument("--at", metavar="HH:MM", help="today, or tomorrow once past (OUTAGE_BOT_TZ)")
    when.add_argument("--every", metavar="DURATION", help="repeat, e.g. 2h")
    add.add_argument("text")
    listing = actions.add_parser("list", help="plan and ad-hoc reminders still to come")
    listing.add_argument("--json", action="store_true")
    cancel = actions.add_parser("cancel", help="cancel a reminder")
    cancel.add_argument("id", type=int)

    records = sub.add_parser("records", help="invoices recorded by hand during outages")
    actions = records.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="export them (JSON by default)")
    export.add_argument("--csv", action="store_true", help="CSV, UTF-8 with BOM so Excel opens it")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    for parser in (start, update, resolve, schedule, windows, unschedule, status, add, listing, cancel, export):
        parser.add_argument("--db", type=Path, help="SQLite file (default: OUTAGE_BOT_DB)")


def _fail(message: str) -> int:
    print(f"outage-bot: {message}", file=sys.stderr)
    return 1


async def outage(args: argparse.Namespace, settings: Settings) -> int:
    clock = SystemClock()
    now = clock.now()
    catalog, _ = load_playbooks_for(settings)
    calendar = WorkCalendar(settings.tz, *parse_hours(settings.WORKING_HOURS))
    async with open_store(settings, must_exist=args.action == "status") as store:
        if args.action == "status":
            open_ = await store.open_outages()
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "id": o.id,
                                "system": o.system,
                                "summary": o.summary,
                                "region": o.region,
                                "until": o.until,
                                "link": o.link,
                                "started_at": o.started_at.isoformat(),
                                "next_update_at": o.next_update_at.isoformat() if o.next_update_at else None,
                                "components": list(o.components),
                            }
                            for o in open_
                        ],
                        ensure_ascii=False,
                    )
                )
            else:
                for o in open_:
                    print(
                        f"#{o.id} {o.system} since {o.started_at.astimezone(settings.tz):%Y-%m-%d %H:%M}: "
                        f"{o.summary}" + (f" (until {o.until})" if o.until else "")
                    )
                if not open_:
                    print("no open outage")
            return 0
        service = Outages(store, catalog, calendar, settings.PUBLIC_BASE_URL)
        if args.action in ("schedule", "windows", "unschedule"):
            return await _windows(args, settings, service, now)
        try:
            book = pick_system(catalog, args.system)
            if args.action in ("start", "update"):
                until = parse_until(args.until, now, settings.tz)
                promised = args.next_update and parse_moment(args.next_update, now, settings.tz, "--next-update")
            if args.action == "start" and args.from_alert is not None:
                result, announcement = await declare(service, args.from_alert, now, args.summary, args.dry_run)
            elif args.action == "start":
                result, announcement = await service.start(
                    book, args.summary, args.region, until, args.link, now, args.dry_run, promised or None,
                    pick_components(book, args.component),
                )  # fmt: skip
            elif args.action == "update":
                result, announcement = await service.update(
                    book, args.summary, until, now, args.dry_run, promised or None
                )
            else:
                result, announcement = await service.resolve(book, now, dry_run=args.dry_run)
        except (OutageError, OutageConflict) as exc:
            return _fail(str(exc))
    verb = "would go" if args.dry_run else "goes"
    names = ", ".join(f"{g.name} ({g.kind})" for g in announcement.groups) or "no subscribed group"
    print(announcement.text)
    print(f"\n--- this message {verb} to {len(announcement.groups)} group(s): {names}")
    if not args.dry_run and args.action == "start":
        print(f"--- outage #{result.id} declared; a running `outage-bot run` delivers it")
    return 0


async def _windows(args: argparse.Namespace, settings: Settings, service: Outages, now) -> int:
    windows = MaintenanceWindows(service)
    if args.action == "unschedule":
        return 0 if await windows.cancel(args.id, now) else _fail(f"no maintenance window #{args.id} to cancel")
    if args.action == "windows":
        ahead = await service.store.maintenance_ahead()
        rows = [
            {"id": w.id, "system": w.system, "summary": w.summary, "components": list(w.components),
             "region": w.region, "starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat(),
             "quiet": w.quiet, "running": w.outage_id is not None}
            for w in ahead
        ]  # fmt: skip
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        for w in [] if args.json else ahead:
            print(f"#{w.id} {w.starts_at.astimezone(settings.tz):%Y-%m-%d %H:%M} – "
                  f"{w.ends_at.astimezone(settings.tz):%Y-%m-%d %H:%M} {w.summary}")  # fmt: skip
        if not ahead and not args.json:
            print("no maintenance window ahead")
        return 0
    try:
        book = pick_system(service.catalog, args.system)
        starts = parse_moment(args.starts, now, settings.tz, "--from")
        ends = parse_moment(args.ends, starts, settings.tz, "--until")
        window, announcement = await windows.schedule(
            book, args.summary, pick_components(book, args.component), args.region, starts, ends, args.quiet, now,
            args.dry_run,
        )  # fmt: skip
    except OutageError as exc:
        return _fail(str(exc))
    print(announcement.text)
    verb = "would go" if args.dry_run else "goes"
    print(f"\n--- this message {verb} to {len(announcement.groups)} group(s) and {len(announcement.people)} person(s)")
    if window is not None:
        print(f"--- maintenance window #{window.id}: it opens and closes by itself")
    return 0


async def reminders(args: argparse.Namespace, settings: Settings) -> int:
    clock = SystemClock()
    async with open_store(settings) as store:
        if args.action == "list":
            rows = await store.reminders()
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "id": r.id,
                                "kind": r.kind,
                                "channel": r.channel,
                                "chat": r.chat,
                                "next_at": r.next_at.astimezone(settings.tz).isoformat(),
                                "every": r.every_s,
                                "text": r.text,
                            }
                            for r in rows
                        ],
                        ensure_ascii=False,
                    )
                )
            else:
                for r in rows:
                    every = f" every {r.every_s:g}s" if r.every_s else ""
                    print(
                        f"#{r.id} {r.kind} {r.channel} {r.chat} at "
                        f"{r.next_at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}{every}: {r.text.splitlines()[0]}"
                    )
                if not rows:
                    print("no reminders")
            return 0
        if args.action == "cancel":
            if await store.cancel_reminder(args.id, clock.now()):
                print(f"cancelled reminder #{args.id}")
                return 0
            return _fail(f"no reminder #{args.id} to cancel")
        group = await store.group(args.group)
        if group is None:
            return _fail(f"no group named {args.group!r} (see outage-bot groups list)")
        form = f"in {args.delay}" if args.delay else f"at {args.at}" if args.at else f"every {args.every}"
        try:
            spec = parse_remind(f"{form} {args.text}", clock.now(), settings.tz)
        except RemindError as exc:
            return _fail(f"{form!r}: {exc}")
        assert isinstance(spec, RemindSpec)
        every = spec.every.total_seconds() if spec.every else None
        reminder_id = await store.add_reminder(
            "adhoc", group.channel, group.chat, spec.text, spec.first_at, every, clock.now(), created_by="cli"
        )
        print(
            f"reminder #{reminder_id} for {group.name} at {spec.first_at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}"
            + (f", then every {every:g}s" if every else "")
        )
        return 0


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_spreadsheet_text(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula (=HYPERLINK(…), +SUM, -2+3+cmd|…, @SUM, or
    one behind a tab or CR a spreadsheet strips) gets a leading apostrophe: shown as text."""
    if isinstance(cell, str) and (cell.startswith(FORMULA_START) or cell.lstrip().startswith(FORMULA_START)):
        return "'" + cell
    return cell


async def records(args: argparse.Namespace, settings: Settings) -> int:
    if args.output is not None and not args.output.parent.is_dir():
        return _fail(f"{args.output.parent} is not a directory")
    async with open_store(settings, must_exist=True) as store:
        rows = [
            [
                r.id,
                r.user,
                r.number,
                r.amount,
                r.issued_on,
                r.counterparty,
                r.created_at.astimezone(settings.tz).isoformat(),
            ]
            for r in await store.records()
        ]
    if args.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([[as_spreadsheet_text(cell) for cell in row] for row in rows])
        text = "\ufeff" + buffer.getvalue()  # the BOM tells Excel it is UTF-8
    else:
        text = json.dumps([dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows], ensure_ascii=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8", newline="")
        print(f"wrote {len(rows)} record(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
