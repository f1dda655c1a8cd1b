"""SQLite with one worker beside PostgreSQL with one, two and three, in one run and one table: the
same WeCom load (the load generator sends round-robin to the workers, as a load balancer would).

    python benchmarks/workers.py [--quick] [--json]

Needs a PostgreSQL server: PG_BENCH_URL, default postgresql://postgres@127.0.0.1:5432/test (each
configuration gets a schema of its own, dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid

import asyncpg
from loadgen import BOT_ENV
from processes import Bot, LoadGenerator, free_port

SERVER = os.environ.get("PG_BENCH_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONFIGS = [("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 3)]


def run(workers: list[Bot], api_port: int, mode: list[str], timeout: float) -> dict:
    generator = LoadGenerator(api_port, ["--bot", ",".join(b.url for b in workers), *mode])
    try:
        for bot in workers:
            bot.start()
        generator.go()
        return generator.result(timeout)
    finally:
        if generator.proc.poll() is None:
            generator.proc.kill()
        for bot in workers:
            bot.stop()


def measure(backend: str, count: int, pipeline_s: float, steady_s: float) -> dict:
    figures: dict = {"backend": backend, "workers": count}
    for name, mode, timeout in (
        ("pipeline", ["closed", "--concurrency", "256", "--users", "20000", "--duration", str(pipeline_s)], 180),
        ("steady", ["rate", "--rate", "200", "--duration", str(steady_s), "--warmup", "3"], 180),
    ):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        api_port = free_port()
        env = BOT_ENV | {"WECOM_API_BASE_URL": f"http://127.0.0.1:{api_port}/cgi-bin/"}
        if backend == "postgres":
            env["OUTAGE_BOT_DB"] = f"{SERVER}?schema={schema}"
        workers = [Bot(env) for _ in range(count)]
        try:
            result = run(workers, api_port, mode, timeout)
        finally:
            if backend == "postgres":
                asyncio.run(_drop(schema))
        if name == "pipeline":
            figures["msgs_per_s"] = round(result["answered"] / result["elapsed_s"], 1)
            figures["errors"] = result["errors"] + result["unexpected_replies"]
        else:
            figures["ack_p99_ms"] = round(result["ack_p99_ms"], 1)
            figures["reply_p50_ms"] = round(result["reply_p50_ms"], 1)
            figures["reply_p99_ms"] = round(result["reply_p99_ms"], 1)
            figures["errors"] += result["errors"] + result["unexpected_replies"]
    return figures


async def _drop(schema: str) -> None:
    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def table(rows: list[dict]) -> str:
    base = rows[0]["msgs_per_s"]
    lines = [
        "| backend | workers | pipeline msg/s | vs SQLite | ack p99 ms | reply p50 ms | reply p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['workers']} | {r['msgs_per_s']:,.0f} | {r['msgs_per_s'] / base:.2f}× | "
            f"{r['ack_p99_ms']} | {r['reply_p50_ms']} | {r['reply_p99_ms']} | {r['errors']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s of pipeline and 10 s of steady load each")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pipeline_s, steady_s = (5, 10) if args.quick else (15, 30)
    rows = []
    for backend, count in CONFIGS:
        print(f"{backend} × {count} …", file=sys.stderr, flush=True)
        rows.append(measure(backend, count, pipeline_s, steady_s))
    print(table(rows))
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
