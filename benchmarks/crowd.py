"""The crowd alert's false-alarm rate on synthetic normal days, and how soon it notices an outage.

Each symptom is described at random (Poisson) at an hourly rate that follows a working day: busy
9-12 and 14-18, quiet at night and at lunch. A week of that is the history; then a further normal
day is watched minute by minute with the real detector (bot.features.crowd on a SQLite file), and
every alert raised is a false alarm. The same day again with bursts (an outage: k extra people
within 10 minutes, at random times) gives the share noticed and the minutes it took.

    python benchmarks/crowd.py            # three desk sizes, 10 bursts each (about a minute)
    python benchmarks/crowd.py --quick
    python benchmarks/crowd.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bot/, from a checkout

from bot.features.crowd import OPEN_FOR, CrowdRule, CrowdWatch
from bot.features.outages import Outages
from bot.features.workcal import WorkCalendar, parse_hours
from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir
from bot.store.sqlite import SqliteStore

START = datetime.fromisoformat("2026-03-02T00:00:00+08:00")  # a Monday
HOURLY = [0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.0, 1.0, 0.9, 0.3, 0.4, 0.9, 1.0, 1.0, 0.8, 0.4,
          0.2, 0.1, 0.08, 0.05, 0.03]  # share of the busiest hour, by hour of day  # fmt: skip
SYMPTOMS = {"blank_query": 1.0, "invalid_invoice": 0.6, "system_unreachable": 0.4, "cannot_issue": 0.3}


def day_of_reports(rng: random.Random, day: datetime, peak_per_hour: float) -> list[tuple[datetime, str]]:
    reports = []
    for minute in range(24 * 60):
        for symptom, weight in SYMPTOMS.items():
            rate = peak_per_hour * weight * HOURLY[minute // 60] / 60
            for _ in range(_poisson(rng, rate)):
                reports.append((day + timedelta(minutes=minute, seconds=rng.randrange(60)), symptom))
    return reports


def _poisson(rng: random.Random, rate: float) -> int:
    count, limit, product = 0, pow(2.718281828459045, -rate), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


async def watch_day(peak: float, bursts: int, burst_size: int, seed: int) -> dict:
    rng = random.Random(seed)
    catalog = load_catalog([shipped_playbooks_dir()])
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "crowd.db")
        await store.open()
        try:
            history = [r for d in range(7) for r in day_of_reports(rng, START + timedelta(days=d), peak)]
            day = START + timedelta(days=7)
            today = day_of_reports(rng, day, peak)
            outages = []
            for _ in range(bursts):  # an outage: burst_size more people within 10 minutes
                begins = day + timedelta(minutes=rng.randrange(8 * 60, 18 * 60))
                symptom = rng.choice(list(SYMPTOMS))
                outages.append((begins, symptom))
                today += [(begins + timedelta(seconds=rng.randrange(600)), symptom) for _ in range(burst_size)]
            rows = [(at.timestamp(), f"user{i}", symptom, "") for i, (at, symptom) in enumerate(history + today)]
            await store.db.executemany("INSERT INTO reports (at, user, symptom, said) VALUES (?, ?, ?, ?)", rows)
            await store.db.commit()
            calendar = WorkCalendar(START.tzinfo, *parse_hours("09:00-18:00"))
            watch = CrowdWatch(Outages(store, catalog, calendar), CrowdRule(), lambda: [])
            alerts = []
            for minute in range(24 * 60):
                now = day + timedelta(minutes=minute)
                if await watch.tick(now):
                    alerts.extend((now, a.symptom) for a in await store.open_alerts() if a.opened_at == now)
        finally:
            await store.close()
    # an outage is noticed by an alert about its symptom raised during its first hour, or by one
    # still open from before (a second alert is held back while one is open); the other alerts
    # are false alarms
    noticed, delays, explained = set(), [], set()
    for outage in outages:
        begins, symptom = outage
        for at, alerted in alerts:
            if alerted == symptom and begins - OPEN_FOR <= at <= begins + timedelta(minutes=60):
                noticed.add(outage)
                explained.add((at, alerted))
                if at >= begins:
                    delays.append((at - begins).total_seconds() / 60)
                break
    false = sum(1 for alert in alerts if alert not in explained)
    return {
        "reports_per_day": round(len(today) - bursts * burst_size),
        "false_alarms": false,
        "outages": bursts,
        "noticed": len(noticed),
        "minutes_to_notice": round(sum(delays) / len(delays), 1) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    for name, peak in (("quiet desk", 3.0), ("busy desk", 12.0), ("very busy", 40.0)):
        normal = asyncio.run(watch_day(peak, 0, 0, seed=1))
        burst = asyncio.run(watch_day(peak, 4 if args.quick else 10, 8, seed=2))
        results[name] = {"peak_people_per_hour": peak, "normal_day": normal, "with_outages": burst}
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'desk':12} {'reports/day':>11} {'false alarms':>13} {'outages noticed':>16} {'minutes to notice':>18}")
    for name, row in results.items():
        normal, burst = row["normal_day"], row["with_outages"]
        false = normal["false_alarms"] + burst["false_alarms"]
        print(f"{name:12} {normal['reports_per_day']:>11} {false:>10} / 2 days {burst['noticed']:>7} of "
              f"{burst['outages']:<6} {burst['minutes_to_notice']!s:>18}")  # fmt: skip


if __name__ == "__main__":
    main()
