"""Start `outage-bot run` as a real process for end-to-end tests, and stop or kill it."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.fakes.http_server import free_port, wait_until


class BotProcess:
    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"bot-{self.port}.log"
        self.env = {
            **os.environ,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
            "OUTAGE_BOT_DB": str(tmp_path / "bot.db"),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self, wait_healthy: bool = True) -> BotProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        if wait_healthy:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=1)
                if response.status_code == 200:
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"bot not healthy in {timeout}s:\n{self.log.read_text()}")

    def wait_idle(self, timeout: float = 20, pending_elsewhere=lambda: 0) -> None:
        """Wait for the explicit idle signal before asserting that nothing more arrives: no message
        in the inbox, no send queued or in flight (a send's row stays until its outcome is
        recorded), and nothing still waiting at the fake platform (`pending_elsewhere`)."""
        database = self.env["OUTAGE_BOT_DB"]

        def idle() -> bool:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                inbox = db.execute("SELECT count(*) FROM inbox").fetchone()[0]
                queued = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                return inbox == 0 and queued.fetchone()[0] == 0 and pending_elsewhere() == 0

        wait_until(idle, timeout, "the bot to be idle")

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        self.proc.kill()
        self.proc.wait(timeout=10)
