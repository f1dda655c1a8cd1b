"""The processes a benchmark runs: `outage-bot run` against local fakes, and the load generator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Bot:
    """`outage-bot run` in its own process, with its own database in a temporary directory."""

    name = "outage-bot run"

    def __init__(self, env: dict[str, str], workdir: Path | None = None):
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="outage-bot-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = self.dir / "bot.db"
        self.log = self.dir / "bot.log"
        self.env = {
            **os.environ,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
            "OUTAGE_BOT_DB": str(self.db),
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bot", "run"]

    def start(self) -> Bot:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy in 30 s:\n{self.log.read_text()}")

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def db_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.glob("bot.db*"))


class LimitServer(Bot):
    """benchmarks/limit_server.py: the same callbacks, the same fake API, only the unavoidable work."""

    name = "the limit server"

    def command(self) -> list[str]:
        where = ["--port", str(self.port), "--api", self.env["WECOM_API_BASE_URL"], "--db", str(self.db)]
        return [sys.executable, str(HERE / "limit_server.py"), *where]


class LoadGenerator:
    """benchmarks/loadgen.py in its own process; it serves the fake WeCom API until it is done."""

    def __init__(self, api_port: int, args: list[str]):
        self.api_port = api_port
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "loadgen.py"), "--api-port", str(self.api_port), *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the load generator did not start")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict:
        out, _ = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise RuntimeError(f"the load generator failed ({self.proc.returncode})")
        return json.loads(out.strip().splitlines()[-1])
