"""Where the time goes: py-spy samples `outage-bot run` (or the limit server) while the load
generator drives it as the pipeline benchmark does, or our side of the PTB comparison; it prints
the functions that take the most of it and writes the samples as folded stacks (the input of
flamegraph.pl, inferno or speedscope).

    python benchmarks/profile.py                   # the pipeline: a table, profile-pipeline.txt
    python benchmarks/profile.py --target limit    # the limit server under the same load
    python benchmarks/profile.py --target ptb      # ours in the PTB comparison (in one process)
    python benchmarks/profile.py --seconds 20 --out /tmp/p.txt

py-spy (pip install py-spy) reads the process from outside: the bot runs as it always does, at
about its full speed. The table counts samples: `self` where a function was running, `total` where
it was anywhere on the stack.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from processes import HERE, Bot, LimitServer
from wecom_load import closed_mode, run_against_bot


def record_ptb(out: Path) -> Path:
    """Our side of the PTB comparison (2,000 users, 12,000 updates), sampled from start to end."""
    subprocess.run(
        ["py-spy", "record", "--rate", "250", "--format", "raw", "-o", str(out), "--",
         sys.executable, str(HERE / "ptb_compare.py"), "--ours"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def record(server: type[Bot], seconds: float, out: Path) -> Path:
    """Sample the server for `seconds` under the pipeline's load (which runs a few seconds longer)."""

    def sample(bot: Bot) -> None:
        subprocess.run(
            ["py-spy", "record", "--pid", str(bot.proc.pid), "--duration", str(int(seconds)), "--rate", "250",
             "--nonblocking", "--format", "raw", "-o", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip

    run_against_bot(closed_mode(seconds + 4, warmup=0), timeout=seconds + 120, during=sample, server=server)
    return out


# the parts of a message's path, each known by a frame on its stack (the first that matches wins)
PARTS = [
    ("the database thread (SQLite)", "_connection_worker_thread"),
    ("engine", "(bot/engine/"),
    ("dispatcher: load, commit, claim", "Dispatcher.drain"),
    ("callback: XML, signature, decryption", "WeComChannel._callback"),
    ("callback: XML, signature, decryption", "Limit.callback"),
    ("HTTP server (uvicorn, Starlette)", "httptools_impl.py"),
    ("HTTP server (uvicorn, Starlette)", "starlette/"),
    ("reply: sender and HTTP client", "Sender."),
    ("reply: sender and HTTP client", "Limit.reply"),
    ("reply: sender and HTTP client", "aiohttp/"),
    ("worker: timers, reminders, duties", "Worker."),
]


def folded(raw: Path) -> Iterator[tuple[str, int]]:
    """(stack, samples) of each line of py-spy's raw output: `frame;frame;… count`."""
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack, int(count)


def parts(raw: Path) -> str:
    """Samples by part of the path; what no part claims is the event loop's own work."""
    counts: collections.Counter[str] = collections.Counter()
    samples = 0
    for stack, count in folded(raw):
        samples += count
        counts[next((name for name, mark in PARTS if mark in stack), "event loop and the rest")] += count
    return "\n".join(f"{100 * n / samples:>7.1f}  {name}" for name, n in counts.most_common())


def frame_name(frame: str) -> str:
    """`function (path/to/file.py:line)` → `function (file.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.split(':')[0]).name})" if where else name


def summary(raw: Path, top: int) -> str:
    selfs: collections.Counter[str] = collections.Counter()
    totals: collections.Counter[str] = collections.Counter()
    samples = 0
    for stack, count in folded(raw):
        frames = [frame_name(f) for f in stack.split(";")]
        samples += count
        selfs[frames[-1]] += count
        for frame in set(frames):
            totals[frame] += count
    lines = [f"{samples:,} samples", f"{'self %':>7} {'total %':>8}  function"]
    for name, count in totals.most_common(top):
        lines.append(f"{100 * selfs[name] / samples:>7.1f} {100 * count / samples:>8.1f}  {name}")
    lines.append("")
    lines.append("by self time:")
    for name, count in selfs.most_common(top):
        lines.append(f"{100 * count / samples:>7.1f} {100 * totals[name] / samples:>8.1f}  {name}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["pipeline", "limit", "ptb"], default="pipeline")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=Path("profile-pipeline.txt"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    if args.target == "ptb":
        raw = record_ptb(args.out)
    else:
        raw = record(LimitServer if args.target == "limit" else Bot, args.seconds, args.out)
    print(parts(raw))
    print()
    print(summary(raw, args.top))
    print(f"\nfolded stacks: {raw}", file=sys.stderr)


if __name__ == "__main__":
    main()
