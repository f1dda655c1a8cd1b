"""Outages noticed from the crowd: when many more people than usual describe one symptom within a
few minutes, the admins hear of it (one-to-one) with the counts, what people said (masked) and a
one-tap "declare"; while that alert is open, no second one about the symptom.

"Usual" is the symptom's average per window at the same time of day over the week before (people
may describe the same trouble every morning); an alert needs at least `min_reports` people in the
window, `factor` times the usual number, and a count a normal window would reach with a chance
under `significance` (Poisson). `unusual` is the rule alone, pure, so benchmarks/crowd.py measures it on
a synthetic day."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.engine.texts import ui_texts
from bot.features.outages import OutageError, Outages
from bot.i18n import LANGS, pick
from bot.store.base import Alert, OutboundMessage

BASELINE_DAYS = 7
BAND = timedelta(hours=1)  # around the same time of day, on each day before
OPEN_FOR = timedelta(hours=2)  # an alert not declared closes by itself after this; a new one may follow


@dataclass(frozen=True)
class CrowdRule:
    min_reports: int = 5
    window: timedelta = timedelta(minutes=10)
    factor: float = 3.0
    significance: float = 1e-4  # how unlikely so many people would be on a normal day (Poisson)


def crowd_rule(settings) -> CrowdRule:
    return CrowdRule(
        settings.CROWD_ALERT_MIN_REPORTS,
        timedelta(minutes=settings.CROWD_ALERT_WINDOW_MINUTES),
        settings.CROWD_ALERT_FACTOR,
        settings.CROWD_ALERT_SIGNIFICANCE,
    )


def chance_of_at_least(count: int, usual: float) -> float:
    """P(X >= count) for X ~ Poisson(usual): how often a normal window sees this many or more."""
    if usual <= 0:
        return 0.0 if count > 0 else 1.0
    term = total = math.exp(-usual)  # P(X = 0)
    for i in range(1, count):
        term *= usual / i
        total += term
    return max(0.0, 1.0 - total)


def unusual(people: int, usual: float, rule: CrowdRule) -> bool:
    """At least `min_reports` people, `factor` times the usual number, and that many no normal window
    would see more than once in 1/`significance` (a busy desk's ordinary ups and downs don't alert)."""
    return (
        people >= rule.min_reports
        and people >= rule.factor * usual
        and chance_of_at_least(people, usual) < rule.significance
    )


class CrowdWatch:
    def __init__(
        self,
        outages: Outages,
        rule: CrowdRule,
        admin_chats: Callable[[], list[tuple[str, str]]],
        presses: Callable[[str], bool] = lambda channel: True,  # the channel shows a pressable button
    ):
        self.outages, self.store, self.catalog = outages, outages.store, outages.catalog
        self.rule, self.admin_chats, self.presses = rule, admin_chats, presses

    async def usual(self, now: datetime) -> dict[str, float]:
        """Reports per window, per symptom, at this time of day on the days before (up to a week;
        an hour around the same time, so the night's quiet doesn't make the morning look unusual)."""
        first = await self.store.first_report_at()
        if first is None:
            return {}
        # the days the bot already heard people on (a new bot has no usual yet)
        days = [d for d in range(1, BASELINE_DAYS + 1) if now - timedelta(days=d) + BAND / 2 > first]
        if not days:
            return {}
        total: Counter[str] = Counter()
        for day in days:
            centre = now - timedelta(days=day)
            total.update(await self.store.reporters(centre - BAND / 2, centre + BAND / 2, distinct=False))
        return {symptom: n / len(days) / (BAND / self.rule.window) for symptom, n in total.items()}

    async def tick(self, now: datetime) -> int:
        """Raise the alerts that are due (and close the stale ones); how many were raised."""
        open_ = set()
        for alert in await self.store.open_alerts():
            if now - alert.opened_at >= OPEN_FOR:
                await self.store.close_alert(alert.id, now)
            else:
                open_.add(alert.symptom)
        counts = await self.store.reporters(now - self.rule.window, now)
        due = {s: n for s, n in counts.items() if s not in open_ and n >= self.rule.min_reports}
        if not due:
            return 0
        usual = await self.usual(now)
        raised = 0
        for symptom, people in sorted(due.items()):
            if not unusual(people, usual.get(symptom, 0.0), self.rule) or self.catalog.find_symptom(symptom) is None:
                continue
            samples = await self.store.report_samples(symptom, now - self.rule.window)
            async with self.store.transaction():
                alert = await self.store.add_alert(symptom, now, people, round(usual.get(symptom, 0.0), 2), samples)
                await self.store.enqueue(self._messages(alert), now)
            raised += 1
        return raised

    def _messages(self, alert: Alert) -> list[OutboundMessage]:
        _, symptom = self.catalog.find_symptom(alert.symptom)
        minutes = round(self.rule.window.total_seconds() / 60)
        text = "\n\n".join(
            self.catalog.templates.render(
                ui_texts()["crowd_alert"][lang],
                {"id": alert.id, "symptom": pick(symptom.title, lang), "people": alert.reports, "minutes": minutes,
                 "usual": alert.usual, "samples": " / ".join(alert.samples)},
            )
            for lang in LANGS
        )  # fmt: skip
        label = " / ".join(ui_texts()["label_declare"][lang] for lang in LANGS)
        button = [{"key": f"alert_declare:{alert.id}", "label": label}]
        return [
            OutboundMessage(
                channel, chat, {"text": text, "options": button if self.presses(channel) else [], "lang": "zh"}
            )
            for channel, chat in self.admin_chats()
        ]


async def declare(outages: Outages, alert_id: int, now: datetime, summary: str | None = None, dry_run: bool = False):
    """The alert's outage, declared (and announced): (outage, announcement). OutageError if the alert
    is unknown or closed."""
    store, catalog = outages.store, outages.catalog
    alert = await store.alert(alert_id)
    if alert is None or alert.closed_at is not None:
        raise OutageError(f"no open alert #{alert_id}")
    book, symptom = catalog.find_symptom(alert.symptom)
    said = ui_texts()["crowd_summary"]["zh"]
    summary = summary or catalog.templates.render(said, {"symptom": pick(symptom.title, "zh")})
    if dry_run:
        return await outages.start(book, summary, None, None, None, now, dry_run=True)
    async with store.transaction():
        outage, announcement = await outages.start(book, summary, None, None, None, now)
        await store.close_alert(alert.id, now, outage.id)
    return outage, announcement
