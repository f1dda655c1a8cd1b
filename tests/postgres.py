"""The PostgreSQL server the tests use: PG_TEST_URL, or 127.0.0.1:5432 database `test` (trust auth).
Each test gets a schema of its own, dropped after it. No server: the PostgreSQL tests are skipped
with a message, except under CI=true, where they fail."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid

import pytest

SERVER = os.environ.get("PG_TEST_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> str | None:
    import asyncpg

    async def probe() -> None:
        connection = await asyncpg.connect(SERVER, timeout=3)
        await connection.close()

    try:  # in a thread: the caller may be inside a running event loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except Exception as exc:  # any reason at all: say it
        return f"{type(exc).__name__}: {exc}"
    return None


_PROBLEM: list[str | None] = []


def require_server() -> None:
    if not _PROBLEM:
        _PROBLEM.append(_reachable())
    if _PROBLEM[0] is not None:
        message = f"no PostgreSQL server at {SERVER} ({_PROBLEM[0]})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def fresh_schema_url() -> tuple[str, str]:
    require_server()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in SERVER else "?"
    return f"{SERVER}{separator}schema={schema}", schema


async def drop_schema(schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def query(url: str, schema: str, sql: str) -> list:
    import asyncpg

    async def go() -> list:
        connection = await asyncpg.connect(url.split("?")[0])
        try:
            await connection.execute(f'SET search_path TO "{schema}"')
            return await connection.fetch(sql)
        finally:
            await connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callable from inside an event loop too
        return pool.submit(asyncio.run, go()).result()


def idle(url: str, schema: str) -> bool:
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
    (row,) = query(url, schema, f"SELECT (SELECT count(*) FROM inbox) + ({unsent})")
    return row[0] == 0
