"""How well free text routes to symptoms: per-symptom precision and recall, overall accuracy, and
the off-topic rejection rate, on the labelled set in match_eval.yaml.

    python benchmarks/match_eval.py [--threshold X] [--json] [--show-misses]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from eval_report import emit

from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir

EVAL_FILES = {
    "tuning": Path(__file__).with_name("match_eval.yaml"),  # the playbook's vocabulary was tuned on it
    "held-out": Path(__file__).with_name("match_heldout.yaml"),  # its misses shaped the vocabulary design
    "fresh": Path(__file__).with_name("match_fresh.yaml"),  # written after all tuning, measured as is
}


def evaluate(threshold: float, path: Path) -> dict:
    catalog = load_catalog([shipped_playbooks_dir()])
    labelled = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for label, messages in labelled.items():
        truth = None if label == "null" else label
        for text in messages:
            result = catalog.matcher.match(str(text), threshold)
            rows.append({"text": text, "truth": truth, "got": result.symptom, "score": result.score})
    symptoms = sorted({r["truth"] for r in rows if r["truth"]})
    per_symptom = {}
    for symptom in symptoms:
        tp = sum(r["got"] == symptom and r["truth"] == symptom for r in rows)
        predicted = sum(r["got"] == symptom for r in rows)
        actual = sum(r["truth"] == symptom for r in rows)
        per_symptom[symptom] = {
            "precision": tp / predicted if predicted else 1.0,
            "recall": tp / actual if actual else 1.0,
            "n": actual,
        }
    off_topic = [r for r in rows if r["truth"] is None]
    return {
        "threshold": threshold,
        "messages": len(rows),
        "accuracy": sum(r["got"] == r["truth"] for r in rows) / len(rows),
        "off_topic_rejection": sum(r["got"] is None for r in off_topic) / len(off_topic),
        "max_off_topic_score": max(r["score"] for r in off_topic),
        "per_symptom": per_symptom,
        "misses": [r for r in rows if r["got"] != r["truth"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None, help="default: MATCH_THRESHOLD's default")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    if args.threshold is None:
        from bot.config import Settings

        args.threshold = Settings.model_fields["MATCH_THRESHOLD"].default
    reports = {name: evaluate(args.threshold, path) for name, path in EVAL_FILES.items()}

    def print_one(name: str, report: dict) -> None:
        print(f"[{name}] {report['messages']} labelled messages, threshold {report['threshold']:.2f}")
        print(f"{'symptom':<20}{'n':>4}{'precision':>11}{'recall':>8}")
        for symptom, row in report["per_symptom"].items():
            print(f"{symptom:<20}{row['n']:>4}{row['precision']:>11.1%}{row['recall']:>8.1%}")
        print(f"accuracy (off-topic included): {report['accuracy']:.1%}")
        print(
            f"off-topic rejected: {report['off_topic_rejection']:.1%} (highest off-topic score "
            f"{report['max_off_topic_score']:.2f})"
        )
        if args.show_misses:
            for miss in report["misses"]:
                print(f"  MISS {miss['text']!r}: want {miss['truth']}, got {miss['got']} ({miss['score']:.2f})")

    return emit(reports, args.json, print_one)


if __name__ == "__main__":
    sys.exit(main())
