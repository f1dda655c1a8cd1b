"""The store's SQL (written for SQLite) as PostgreSQL reads it, and a connection that speaks it.

The statements in bot/store/sql.py are portable but for a few spellings: `?` placeholders (`$1`…),
the column named `user` (a reserved word here), and json_extract(col, '$.key'). Each statement is
rewritten once and cached.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Sequence
from typing import Any

import asyncpg

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|\buser\b|json_extract\((\w+(?:\.\w+)?), '\$\.(\w+)'\)")


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    counter = iter(range(1, 10_000))

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith(("'", '"')):
            return token  # a string or a quoted name: left as it is
        if token == "?":
            return f"${next(counter)}"
        if token == "user":
            return '"user"'
        return f"({match.group(1)}::jsonb ->> '{match.group(2)}')"

    return _TOKENS.sub(replace, sql)


class Result:
    """What a statement did, as much of sqlite3's cursor as the store reads: the rows it changed."""

    def __init__(self, status: str):
        tail = status.rsplit(" ", 1)[-1]
        self.rowcount = int(tail) if tail.isdigit() else -1


class PgConnection:
    """One asyncpg connection with aiosqlite's three calls; one statement at a time (asyncpg refuses
    two at once on a connection), whichever task sends it."""

    def __init__(self, connection: asyncpg.Connection):
        self.raw = connection
        self._busy = asyncio.Lock()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        async with self._busy:
            return Result(await self.raw.execute(to_postgres(sql), *params))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        async with self._busy:
            return await self.raw.fetch(to_postgres(sql), *params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            async with self._busy:
                await self.raw.executemany(to_postgres(sql), rows)

    async def close(self) -> None:
        await self.raw.close()
