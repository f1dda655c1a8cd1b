"""How the evaluation scripts print their labelled sets' reports: one JSON object, or a block each."""

from __future__ import annotations

import json
from collections.abc import Callable

DETAIL = ("misses", "rows")  # per-item lists: printed on request, never in the JSON summary


def emit(reports: dict[str, dict], as_json: bool, print_one: Callable[[str, dict], None]) -> int:
    if as_json:
        summary = {name: {k: v for k, v in r.items() if k not in DETAIL} for name, r in reports.items()}
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    for name, report in reports.items():
        print_one(name, report)
        print()
    return 0
