"""What a process builds at start (playbooks, the symptom matcher, compiled templates, the channels'
clients) lives as long as it does: hundreds of thousands of objects that every full pass of the
cyclic garbage collector would walk again, about a seventh of a busy worker's time. Frozen after
start, the passes skip them."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def started_objects_frozen() -> Iterator[None]:
    """Freeze what exists now for the duration of the block; on leaving it (a server stopped in a
    process that goes on, as in tests) they are collectable again."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
