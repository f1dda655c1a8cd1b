"""Sliding-window rate limits that never block: they say how long to wait instead.

WeCom counts per member per minute and per hour, and silently drops what is over; a sender that
asks first can keep the message in the outbox and try again when a slot frees, without holding a
sending slot while it waits.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict

from bot.runtime.clock import Clock


class SlidingWindows:
    def __init__(self, limits: list[tuple[int, float]], clock: Clock, keep: int = 50_000):
        self.limits = sorted(limits, key=lambda limit: limit[1])  # (count, seconds)
        self.clock = clock
        self._keep = keep
        # send times per key (an array of floats: no object per send), least recently used first
        self._sent: OrderedDict[str, array] = OrderedDict()

    def reserve(self, key: str) -> float:
        """0 and the send is counted; or the seconds until one is allowed (nothing is counted)."""
        now = self.clock.now().timestamp()
        longest = self.limits[-1][1]
        self._forget_idle(now - longest)
        times = self._sent.pop(key, None)
        if times is None:
            times = array("d")
        elif times[0] <= now - longest:
            times = array("d", (t for t in times if t > now - longest))
        self._sent[key] = times  # most recently used last
        wait = 0.0
        for count, seconds in self.limits:
            recent = [t for t in times if t > now - seconds]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + seconds - now)
        if wait > 0:
            return wait
        times.append(now)
        while len(self._sent) > self._keep:
            self._sent.popitem(last=False)
        return 0.0

    def _forget_idle(self, cutoff: float) -> None:
        """Keys with nothing sent inside the longest window cost nothing: drop them."""
        while self._sent:
            oldest = next(iter(self._sent.values()))
            if oldest and oldest[-1] > cutoff:
                return
            self._sent.popitem(last=False)
