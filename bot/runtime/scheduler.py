"""Due timers → inbox rows. A timer fires once, even across crashes, and says when it is late."""

from __future__ import annotations

from datetime import timedelta

from bot.engine.types import Inbound
from bot.runtime.clock import Clock
from bot.store.base import Store

LATE_AFTER = timedelta(minutes=5)


async def fire_due(store: Store, clock: Clock) -> list[int]:
    """Move every due timer into the inbox; returns the new inbox ids."""
    now = clock.now()
    inbox_ids = []
    for timer in await store.due_timers(now):
        payload = dict(timer.payload) | {"timer": timer.name, "late": now - timer.due > LATE_AFTER}
        inbound = Inbound(key=timer.conversation, at=now, kind="timer", payload=payload)
        inbox_id = await store.fire(timer, inbound)
        if inbox_id is not None:
            inbox_ids.append(inbox_id)
    return inbox_ids
