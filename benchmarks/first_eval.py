"""Never ask twice: fact-rich first messages (first_messages*.yaml) through the pure engine.

Each conversation opens with the labelled message; every question the bot then asks is answered in
the person's words from the case's `answers` ("不清楚" / "not sure" where the case has none). The
figures: questions asked beyond those a perfect helper still needs, questions asked twice, and how
often the right cause is ranked first at the diagnosis.

    python benchmarks/first_eval.py [--json] [--show]
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import yaml
from eval_report import emit

from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, Inbound, Reply
from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir

CASE_FILES = {
    "tuning": Path(__file__).with_name("first_messages.yaml"),  # the read-ahead phrases were tuned on it
    "fresh": Path(__file__).with_name("first_messages_fresh.yaml"),  # written after all tuning, measured as is
}
NOW = datetime.fromisoformat("2026-03-02T10:30:00+08:00")  # a Monday morning in Beijing
KEY = ConversationKey("eval", "chat", "user")
MAX_TURNS = 15


def run_case(catalog, case: dict) -> dict:
    lang = "en" if case["say"].isascii() else "zh"
    unsure = "not sure" if lang == "en" else "不清楚"
    context = Context(lang=lang)
    state, asked, reply = None, [], None
    text = case["say"]
    for _ in range(MAX_TURNS):
        state, effects = step(catalog, state, Inbound(KEY, NOW, text=text), context, NOW)
        reply = next((e for e in reversed(effects) if isinstance(e, Reply)), None)
        book = catalog.playbook(state.playbook)
        if book is None or state.node not in book.questions:
            break
        if asked and asked[-1] == state.node:
            break  # the reply in their words was not understood: stuck, however often it is repeated
        asked.append(state.node)
        text = str(case["answers"].get(state.node, unsure))
    need = set(case["need"])
    ranked = [c.id for c in reply.causes] if reply is not None and state.node == "diagnosis" else []
    return {
        "say": case["say"],
        "asked": asked,
        "beyond": [q for q in dict.fromkeys(asked) if q not in need],
        "twice": sorted({q for q in asked if asked.count(q) > 1}),
        "stuck": state.node if state.node in asked else None,
        "ended": state.node,
        "first": ranked[0] if ranked else None,
        "right": bool(ranked) and ranked[0] == case["cause"],
        "want": case["cause"],
    }


def evaluate(path: Path) -> dict:
    catalog = load_catalog([shipped_playbooks_dir()])
    rows = [run_case(catalog, case) for case in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return {
        "messages": len(rows),
        "asked": sum(len(r["asked"]) for r in rows),
        "asked_beyond": sum(len(r["beyond"]) for r in rows),
        "messages_with_beyond": sum(bool(r["beyond"]) for r in rows),
        "asked_twice": sum(len(r["twice"]) for r in rows),
        "stuck": sum(r["stuck"] is not None for r in rows),
        "right_cause_first": sum(r["right"] for r in rows) / len(rows),
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show", action="store_true", help="every case: what was asked and ranked first")
    args = parser.parse_args()
    reports = {name: evaluate(path) for name, path in CASE_FILES.items()}

    def print_one(name: str, report: dict) -> None:
        print(f"[{name}] {report['messages']} fact-rich first messages; questions asked: {report['asked']}")
        if args.show:
            for r in report["rows"]:
                mark = "ok " if r["right"] and not r["beyond"] else "-- "
                print(
                    f"{mark}{r['say']}\n    asked {r['asked']} beyond {r['beyond']} → {r['ended']}, "
                    f"first {r['first']} (want {r['want']})"
                )
        print(
            f"asked beyond what was needed: {report['asked_beyond']} "
            f"(in {report['messages_with_beyond']} conversations)"
        )
        print(f"asked twice: {report['asked_twice']}; stuck on a reply not understood: {report['stuck']}")
        print(f"right cause ranked first: {report['right_cause_first']:.1%}")

    return emit(reports, args.json, print_one)


if __name__ == "__main__":
    sys.exit(main())
