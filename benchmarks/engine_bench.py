"""Engine steps per second on the invoice playbook, in memory: no storage, no channel."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from loadgen import SCRIPT

from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, ConversationState, Inbound
from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir


def engine(conversations: int) -> dict:
    catalog = load_catalog([shipped_playbooks_dir()])
    context = Context(lang="zh")
    now = datetime.now(UTC)
    steps = 0
    began = time.perf_counter()
    for n in range(conversations):
        key = ConversationKey("bench", str(n), str(n))
        state = ConversationState()
        for text in SCRIPT:
            state, _ = step(catalog, state, Inbound(key, now, text=text), context, now)
            steps += 1
    elapsed = time.perf_counter() - began
    if state.node != "diagnosis":
        raise RuntimeError(f"the benchmark conversation ended at {state.node}, not at the diagnosis")
    return {"engine_msgs_per_s": steps / elapsed}
