"""How well typed replies at a question are understood: accuracy per node and overall, on the
labelled (node, reply, meaning) sets in replies_*.yaml.

A reply is read the way the engine reads it, in the same order: the question's answer (an option,
or a check's outcome for a pasted number or message), else something said anywhere (转人工, 谢谢,
返回…), else a tie between options ("which"), else "none".

    python benchmarks/reply_eval.py [--json] [--show-misses]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import yaml
from eval_report import emit

from bot.engine import views
from bot.engine.intents import intent_of
from bot.engine.replies import understand
from bot.engine.texts import Speaker
from bot.engine.types import Context, ConversationState
from bot.engine.understanding import read_answer
from bot.i18n import Lang
from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir

EVAL_FILES = {
    "tuning": Path(__file__).with_name("replies_tuning.yaml"),  # the playbook and answer words were tuned on it
    "held-out": Path(__file__).with_name("replies_heldout.yaml"),  # its misses shaped how replies are read
    "fresh": Path(__file__).with_name("replies_fresh.yaml"),  # written after all tuning, measured as is
}
TODAY = date(2026, 3, 2)  # a Monday: "上周五" and "昨天" are both earlier days
ENGINE_NODES = {"steps": "maintenance", "finished": "maintenance"}  # node → the cause being worked through
# (both read loosely, as machine.LOOSE_NODES says)


def meaning(catalog, book, node: str, text: str) -> str:
    lang: Lang = "en" if text.isascii() else "zh"
    if node in book.questions:
        reading = read_answer(catalog, book, node, text, None, TODAY, False, lang)
        answer = reading.answer
        if answer is not None and answer.key:
            return answer.key
        if intent := intent_of(text):
            return intent
        if reading.tied:
            return "which"
        return answer.outcome if answer is not None and answer.outcome else "none"
    state = ConversationState(node=node, playbook=book.id, symptom="blank_query", cause=ENGINE_NODES[node])
    got = understand(text, None, views.choices_at(Speaker(catalog, book, state, Context(lang=lang), lang)), TODAY)
    if got.tied:
        return "which"
    return got.key or intent_of(text) or got.loose or "none"


def evaluate(path: Path) -> dict:
    catalog = load_catalog([shipped_playbooks_dir()])
    book = catalog.playbooks[0]
    labelled = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for node, meanings in labelled.items():
        for label, replies in meanings.items():
            accepted = set(str(label).split("|"))
            for text in replies:
                got = meaning(catalog, book, node, str(text))
                rows.append({"node": node, "text": str(text), "want": str(label), "got": got, "ok": got in accepted})
    per_node = {}
    for node in labelled:
        mine = [r for r in rows if r["node"] == node]
        per_node[node] = {"n": len(mine), "accuracy": sum(r["ok"] for r in mine) / len(mine)}
    return {
        "pairs": len(rows),
        "accuracy": sum(r["ok"] for r in rows) / len(rows),
        "per_node": per_node,
        "misses": [r for r in rows if not r["ok"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    reports = {name: evaluate(path) for name, path in EVAL_FILES.items()}

    def print_one(name: str, report: dict) -> None:
        print(f"[{name}] {report['pairs']} labelled replies")
        print(f"{'node':<18}{'n':>4}{'accuracy':>10}")
        for node, row in report["per_node"].items():
            print(f"{node:<18}{row['n']:>4}{row['accuracy']:>10.1%}")
        print(f"overall: {report['accuracy']:.1%}")
        if args.show_misses:
            for miss in report["misses"]:
                print(f"  MISS {miss['node']}: {miss['text']!r} want {miss['want']}, got {miss['got']}")

    return emit(reports, args.json, print_one)


if __name__ == "__main__":
    sys.exit(main())
