"""How well and how fast invoices are read, per kind of input: the share of fields read correctly
and the time per file, on invoices made here with known values (tests/invoice_samples.py).

    python benchmarks/invoices.py            # 40 files per kind, 200 photos (about 1 minute)
    python benchmarks/invoices.py --quick    # 10 per kind, 60 photos
    python benchmarks/invoices.py --json

Time is measured in this process (the reader alone) and, for a sample, through the worker
processes the bot uses (the sandbox's cost on top: the copy to the worker and back).
Aim (reported, not asserted): every field of clean PDFs and OFDs, ≥ 95 % of QR codes on degraded
photos, well under a second per file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bot/ and tests/, from a checkout

from bot.invoices.reader import read_bytes
from bot.invoices.sandbox import InvoiceReader
from tests import invoice_samples as samples

KINDS = list(samples.QR_TYPES)
QR_FIELDS = ("kind", "code", "number", "date", "check_code")  # what a QR code carries (and its amount)


def _inputs(rng: random.Random, count: int, photos: int) -> dict[str, list[tuple[bytes, dict]]]:
    """Per input kind: (file, the fields it should yield)."""
    made: dict[str, list[tuple[bytes, dict]]] = {k: [] for k in ("pdf", "pdf_text_only", "ofd", "qr_screenshot")}
    for i in range(count):
        v = samples.values(rng, KINDS[i % len(KINDS)])
        expected = v.expected()
        made["pdf"].append((samples.pdf(v), expected))
        made["pdf_text_only"].append((samples.pdf(v, with_qr=False, shuffled=True), expected))
        style = ("attachment", "custom_data") if not v.kind.startswith("digital") else ("custom_data", "tags")
        made["ofd"].append((samples.ofd(v, style[i % 2]), expected))
        made["qr_screenshot"].append((samples.qr_png(v.qr_payload()), _qr_fields(v)))
    for blur in samples.BLURS:
        made[f"photo_blur_{blur}"] = []
    for _ in range(photos):
        v = samples.values(rng, rng.choice(KINDS))
        photo, used = samples.photo(v, rng)
        made[f"photo_blur_{used['blur']}"].append((photo, _qr_fields(v)))
    return made


def _qr_fields(v: samples.Values) -> dict:
    fields = {k: getattr(v, k) for k in QR_FIELDS}
    fields["amount" if not v.kind.startswith("digital") else "total"] = (
        v.amount if not v.kind.startswith("digital") else v.total
    )
    return fields


def measure(quick: bool) -> dict:
    rng = random.Random(2026)
    count, photos = (10, 60) if quick else (40, 200)
    made = _inputs(rng, count, photos)
    results = {}
    for kind, files in made.items():
        if not files:
            continue
        right = total = whole = 0
        times = []
        for data, expected in files:
            started = time.perf_counter()
            invoice = read_bytes(data).to_dict()
            times.append(time.perf_counter() - started)
            hits = sum(invoice[k] == v for k, v in expected.items())
            right, total, whole = right + hits, total + len(expected), whole + (hits == len(expected))
        results[kind] = {
            "files": len(files),
            "fields_right": round(right / total, 4),
            "files_entirely_right": round(whole / len(files), 4),
            "ms_mean": round(statistics.mean(times) * 1000, 1),
            "ms_max": round(max(times) * 1000, 1),
        }
    photo_files = [f for k, fs in made.items() if k.startswith("photo") for f in fs]
    read = sum(read_bytes(d).number == e["number"] for d, e in photo_files)
    results["photos_qr_read"] = round(read / len(photo_files), 4)
    results["sandbox_ms_per_file"] = asyncio.run(_through_sandbox([d for d, _ in made["pdf"][:10]]))
    return results


async def _through_sandbox(files: list[bytes]) -> float:
    reader = InvoiceReader(parallel=1)
    try:
        await reader.read(files[0])  # the worker started: its start is paid once per process
        started = time.perf_counter()
        for data in files:
            await reader.read(data)
        return round((time.perf_counter() - started) / len(files) * 1000, 1)
    finally:
        await reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.quick)
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'input':22} {'files':>6} {'fields right':>13} {'files right':>12} {'ms mean':>8} {'ms max':>8}")
    for kind, row in results.items():
        if isinstance(row, dict):
            print(f"{kind:22} {row['files']:>6} {row['fields_right']:>13.2%} {row['files_entirely_right']:>12.2%} "
                  f"{row['ms_mean']:>8} {row['ms_max']:>8}")  # fmt: skip
    print(f"QR codes read on all photos: {results['photos_qr_read']:.2%}")
    print(f"through the worker processes: {results['sandbox_ms_per_file']} ms per clean PDF")


if __name__ == "__main__":
    main()
