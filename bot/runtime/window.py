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


class InFlightWindows:
    """At most `count` sends per `seconds` as the platform counts them, on arrival, whatever the
    jitter between our call and its arrival. A send counts from the moment it is let go until
    `seconds` after its answer came (a send still in flight counts all along): its arrival lies in
    between, so no window of `seconds` can see more than `count` arrivals."""

    POLL_S = 0.005  # how soon to look again when every counted send is still in flight
    KEEP_KEYS = 10_000  # beyond this many keys, those with nothing counted any more are dropped

    def __init__(self, count: int, seconds: float, clock: Clock):
        self.count, self.seconds, self.clock = count, seconds, clock
        self._sends: dict[str, list[list[float]]] = {}  # per key: [answer time], inf while in flight

    def reserve(self, key: str) -> tuple[float, list[float] | None]:
        """(0, a ticket for `done`) and the send is counted; or (seconds to wait, None)."""
        now = self.clock.now().timestamp()
        sends = [s for s in self._sends.get(key, ()) if s[0] > now - self.seconds]
        self._sends[key] = sends
        if len(sends) >= self.count:
            answered = sorted(s[0] for s in sends if s[0] != INF)
            leaving = len(sends) - self.count  # this many must age out first
            wait = answered[leaving] + self.seconds - now if leaving < len(answered) else self.POLL_S
            return max(wait, self.POLL_S), None
        ticket = [INF]
        sends.append(ticket)
        if len(self._sends) > self.KEEP_KEYS:
            cutoff = now - self.seconds
            self._sends = {k: v for k, v in self._sends.items() if any(s[0] > cutoff for s in v)}
        return 0.0, ticket

    def done(self, ticket: list[float]) -> None:
        """The send's answer came, or it failed: it counts for `seconds` more."""
        ticket[0] = self.clock.now().timestamp()


INF = float("inf")
