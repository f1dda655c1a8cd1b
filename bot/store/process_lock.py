"""One bot process per database: the process that runs conversations (`run`, `chat`) holds an
exclusive lock on `<database>.lock` for its whole life. The operating system releases it when the
process ends, however it ends (kill -9 included), so a stale lock never blocks a restart. CLI verbs
that only write operator data (outages, reminders, groups) don't take it and work beside the bot."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseInUse(Exception):
    """Another process already runs conversations on this database."""


class ProcessLock:
    def __init__(self, database: Path | str, role: str):
        self.path = Path(f"{database}.lock")
        self.role = role  # what this process is, for the message another one gets
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DatabaseInUse(
                f"{self.path.with_suffix('')} is in use by {holder}; stop it first, or give this one its own "
                "database (--db or OUTAGE_BOT_DB)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"outage-bot {self.role} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
