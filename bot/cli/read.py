"""`outage-bot read FILE...`: what an invoice photo, PDF or OFD file says, and what to enter when
verifying it; for one file or a folder of them (month-end). Exit 1 when any could not be read."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from bot.invoices.entries import entries, kind_name, notices
from bot.invoices.merge import LABELS
from bot.invoices.model import FIELDS, Invoice, unreadable
from bot.invoices.reader import MAX_FILE_BYTES
from bot.invoices.sandbox import InvoiceReader

MAX_FILES = 10_000
JSON_FIELDS = ("kind", "code", "number", "date", "amount", "tax", "total", "check_code",
               "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id")  # fmt: skip


def add_parser(sub) -> None:
    read = sub.add_parser("read", help="read invoices from photos, PDF or OFD files (or folders of them)")
    read.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files, or folders whose files are read")
    read.add_argument("--json", action="store_true", help="print one JSON array, one object per file")
    read.add_argument("--lang", choices=["zh", "en"], help="language of labels and problems (default: OUTAGE_BOT_LANG)")


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    return found


async def _read_one(reader: InvoiceReader, path: Path) -> Invoice:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            mb = MAX_FILE_BYTES // (1024 * 1024)
            return unreadable(f"文件太大（最多 {mb} MB）。", f"The file is too large (at most {mb} MB).")
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return unreadable(f"无法读取文件：{why}", f"Can't read the file: {why}")
    return (await reader.read(data)).invoice


def as_json(path: Path, invoice: Invoice, today, lang: str) -> dict:
    data = {"file": str(path), **{name: getattr(invoice, name) for name in JSON_FIELDS}}
    data["sources"] = dict(invoice.sources)
    data["problems"] = [p.say(lang) for p in notices(invoice, today)]
    data["verification"] = {en: value for _zh, en, value in entries(invoice)} if invoice.found() else None
    data["input"] = invoice.input
    return data


def as_text(path: Path, invoice: Invoice, today, lang: str) -> str:
    en = lang == "en"
    lines = [f"{path}: {kind_name(invoice, lang) or ('type not read' if en else '类型未读到')}"]
    for name in FIELDS[1:]:
        value = getattr(invoice, name)
        if value:
            lines.append(f"  {LABELS[name][1 if en else 0]}: {value}  ({invoice.sources.get(name, '')})")
    if invoice.found():
        shown = [f"{e if en else z} {v if v else ('(empty)' if en else '（留空）') if v == '' else '?'}"
                 for z, e, v in entries(invoice)]  # fmt: skip
        lines.append(("  verify with: " if en else "  查验平台填写：") + " | ".join(shown))
    lines += [("  note: " if en else "  注意：") + p.say(lang) for p in notices(invoice, today)]
    return "\n".join(lines)


async def run(args: argparse.Namespace, settings) -> int:
    lang = args.lang or settings.OUTAGE_BOT_LANG
    files = _files(args.files)
    if not files:
        print("outage-bot read: no files found", file=sys.stderr)
        return 1
    if len(files) > MAX_FILES:
        print(f"outage-bot read: {len(files)} files; at most {MAX_FILES} at a time", file=sys.stderr)
        return 2
    today = datetime.now(settings.tz).date()
    reader = InvoiceReader(time_limit_s=settings.INVOICE_READ_TIMEOUT_S, parallel=settings.INVOICE_READ_PARALLEL)
    try:
        invoices = await asyncio.gather(*(_read_one(reader, path) for path in files))
    finally:
        await reader.close()
    if args.json:
        print(json.dumps([as_json(p, i, today, lang) for p, i in zip(files, invoices, strict=True)],
                         ensure_ascii=False, indent=2))  # fmt: skip
    else:
        print("\n\n".join(as_text(p, i, today, lang) for p, i in zip(files, invoices, strict=True)))
    unread = sum(not i.found() for i in invoices)
    if unread:
        print(f"outage-bot read: {unread} of {len(files)} file(s) could not be read", file=sys.stderr)
    return 1 if unread else 0
