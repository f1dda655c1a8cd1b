"""outage-bot's speed and memory, measured on this machine: one table (with --json, one JSON object as
the last line). The bot runs as `outage-bot run` against local fakes of WeCom and Telegram; the load
comes from another process (benchmarks/loadgen.py).

    python benchmarks/run.py            # the full run (about 15 minutes)
    python benchmarks/run.py --quick    # every figure, smaller (under 3 minutes)
    python benchmarks/run.py --json

Goals (reported, not asserted): pipeline ≥ 1,000 msgs/s and ≥ 0.6 of the limit server's (the same
load, only the unavoidable work: benchmarks/limit_server.py); at 200 msgs/s pipeline p99 ≤ 50 ms and
ack p99 ≤ 10 ms; vs PTB ≥ 1.0, with its pickle written and before; broadcast efficiency ≥ 0.95 with 0
violations; ≤ 2 KB per stored conversation; ≤ 150 MB RSS with 100,000 conversations stored; soak RSS
growth ≤ 10 MB; throughput on 1 million stored conversations ≥ 0.9 of that on 10 thousand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmark modules beside this file
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # and bot/, from a checkout

from broadcast import broadcast
from engine_bench import engine
from growth import growth
from ptb_compare import compare
from wecom_load import pipeline, steady, stored_conversations

# (key, goal, unit, what); a goal is (">=" | "<=", value)
FIGURES = [
    ("engine_msgs_per_s", None, "msg/s", "engine steps, in memory"),
    ("pipeline_msgs_per_s", (">=", 1000), "msg/s", "WeCom callback → reply at the fake API"),
    ("limit_msgs_per_s", None, "msg/s", "the limit server, same load: only the unavoidable work"),
    ("pipeline_vs_limit", (">=", 0.6), "×", "pipeline ÷ limit, measured back to back"),
    ("ack_p99_ms", ("<=", 10), "ms", "callback → HTTP 200, at 200 msg/s"),
    ("pipeline_p50_ms", None, "ms", "callback → reply at the fake API, at 200 msg/s"),
    ("pipeline_p99_ms", ("<=", 50), "ms", "callback → reply at the fake API, at 200 msg/s"),
    ("ptb_baseline_msgs_per_s", None, "msg/s", "ConversationHandler + PicklePersistence"),
    ("vs_ptb_ratio", (">=", 1.0), "×", "ours ÷ PTB baseline, same updates"),
    ("vs_ptb_in_memory_ratio", (">=", 1.0), "×", "ours ÷ PTB baseline before it writes its pickle"),
    ("broadcast_efficiency", (">=", 0.95), "", "time the limits require ÷ time taken"),
    ("broadcast_violations", ("<=", 0), "", "sends refused by the limit-enforcing fakes"),
    ("db_bytes_per_conversation", ("<=", 2048), "B", "database file ÷ conversations"),
    ("rss_mb_100k_conversations", ("<=", 150), "MB", "bot RSS after the stored conversations"),
    ("soak_rss_growth_mb", ("<=", 10), "MB", "bot RSS growth at 200 msg/s"),
    ("growth_throughput_ratio", (">=", 0.9), "×", "pipeline on the large store ÷ on the small one"),
    ("growth_p99_ratio", None, "×", "p99 at 200 msg/s on the large store ÷ on the small one"),
]


def sizes(quick: bool) -> dict:
    if quick:
        return {"pipeline_s": 5, "soak_s": 20, "conversations": 10_000, "groups": 300, "ptb_users": 300,
                "growth": (10_000, 100_000), "growth_s": (5, 8)}  # fmt: skip
    return {"pipeline_s": 20, "soak_s": 120, "conversations": 100_000, "groups": 1000, "ptb_users": 2000,
            "growth": (10_000, 1_000_000), "growth_s": (15, 30)}  # fmt: skip


def measure(quick: bool, log) -> dict:
    size = sizes(quick)
    results: dict = {}
    steps = [
        ("engine", lambda: engine(500 if quick else 3000)),
        ("PTB comparison", lambda: compare(size["ptb_users"])),
        ("pipeline", lambda: pipeline(size["pipeline_s"])),
        ("latency and soak", lambda: steady(size["soak_s"])),
        ("broadcast", lambda: broadcast(size["groups"], 50)),
        ("stored conversations", lambda: stored_conversations(size["conversations"])),
        ("growth", lambda: growth(*size["growth"], *size["growth_s"])),
    ]
    for name, run in steps:
        began = time.monotonic()
        log(f"… {name}")
        results.update(run())
        log(f"  {name}: {time.monotonic() - began:.0f} s")
    results["rss_mb_100k_conversations"] = results.pop("rss_mb_conversations")
    results["scale"] = {
        "conversations": size["conversations"],
        "telegram_groups": size["groups"],
        "wecom_robots": 50,
        "pipeline_s": size["pipeline_s"],
        "soak_s": size["soak_s"],
        "growth_conversations": list(size["growth"]),
        "quick": quick,
    }
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }
    return results


def met(goal, value) -> str:
    if goal is None or value is None:
        return ""
    op, target = goal
    ok = value >= target if op == ">=" else value <= target
    return f"{'yes' if ok else 'NO'} ({op} {target:g})"


def table(results: dict) -> str:
    scale = results["scale"]
    lines = [f"{'figure':<28} {'value':>12}  {'goal met':<16} what", "-" * 100]
    for key, goal, unit, what in FIGURES:
        value = results.get(key)
        number = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        shown = "—" if value is None else f"{number} {unit}".strip()
        lines.append(f"{key:<28} {shown:>12}  {met(goal, value):<16} {what}")
    lines.append("")
    if scale["quick"]:
        lines.append(
            f"--quick: {scale['conversations']:,} conversations stored (not 100,000), "
            f"{scale['telegram_groups']} Telegram groups (not 1,000), pipeline {scale['pipeline_s']} s, "
            f"soak {scale['soak_s']} s, growth {results['growth_large_conversations']:,} stored (not 1,000,000)"
        )
    lines.append(
        f"pipeline: {results['pipeline_users']:,} users, {results['pipeline_errors']} errors; soak: "
        f"{results['soak_messages']:,} messages, {results['soak_errors']} errors; stored: "
        f"{results['conversations']:,} conversations at {results['conversation_msgs_per_s']:,.0f} msg/s, "
        f"{results['conversation_errors']} errors"
    )
    lines.append(
        f"broadcast: {results['broadcast_delivered']} of {results['broadcast_expected']} delivered "
        f"({results['broadcast_groups']}) in {results['broadcast_s']:.1f} s"
    )
    lines.append(
        f"PTB comparison, {results['ptb_messages']:,} updates: ours {results['ours_telegram_msgs_per_s']:,.0f} "
        f"msg/s; PTB {results['ptb_baseline_msgs_per_s']:,.0f} msg/s with its pickle written, "
        f"{results['ptb_in_memory_msgs_per_s']:,.0f} msg/s before"
    )
    lines.append(
        f"limit server: {results['limit_msgs_per_s']:,.0f} msg/s, {results['limit_errors']} errors; growth: "
        f"{results['growth_small_conversations']:,} → {results['growth_large_conversations']:,} conversations "
        f"stored, {results['growth_small_msgs_per_s']:,.0f} → {results['growth_large_msgs_per_s']:,.0f} msg/s, "
        f"p99 {results['growth_small_p99_ms']:.1f} → {results['growth_large_p99_ms']:.1f} ms, "
        f"{results['growth_small_db_bytes_per_conversation']:,.0f} → "
        f"{results['growth_large_db_bytes_per_conversation']:,.0f} B per conversation, RSS "
        f"{results['growth_small_rss_mb']:.0f} → {results['growth_large_rss_mb']:.0f} MB, "
        f"{results['growth_errors']} errors"
    )
    machine = results["machine"]
    lines.append(f"machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every figure, at a smaller scale (< 3 minutes)")
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON object")
    args = parser.parse_args(argv)
    results = measure(args.quick, lambda line: print(line, file=sys.stderr, flush=True))
    print(table(results))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
