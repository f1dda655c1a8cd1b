"""Whether the database takes writes, as /healthz, /metrics and the log should say it.

While commits fail (a full disk, files made read-only or immutable) every webhook and every turn
meets the same error: logged once when a kind of failure starts, then at most once a minute with a
count, never as a traceback per request; and once when writes work again."""

from __future__ import annotations

import logging
import time

from bot import metrics

log = logging.getLogger(__name__)

REPORT_EVERY_S = 60.0


class WriteHealth:
    def __init__(self) -> None:
        self.failing: str | None = None  # the kind of the latest failure, while writes fail
        self._counts: dict[str, int] = {}  # failures per kind since last reported
        self._reported: dict[str, float] = {}
        self._total = 0  # failures since writes last worked

    def failed(self, exc: BaseException) -> None:
        kind = str(exc).split("\n", 1)[0][:200] or type(exc).__name__
        self.failing = kind
        self._total += 1
        self._counts[kind] = self._counts.get(kind, 0) + 1
        metrics.STORE_WRITE_FAILURES.labels(kind[:60]).inc()
        now = time.monotonic()
        if now - self._reported.get(kind, -REPORT_EVERY_S) >= REPORT_EVERY_S:
            log.error("database writes failing: %s (%d time(s) since the last report)", kind, self._counts[kind])
            self._reported[kind] = now
            self._counts[kind] = 0

    def succeeded(self) -> None:
        if self.failing is not None:
            log.warning("database writes work again after %d failure(s)", self._total)
            self.failing = None
            self._counts.clear()
            self._reported.clear()
            self._total = 0
