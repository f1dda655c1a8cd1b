"""The store's SQL (written for SQLite) as PostgreSQL reads it, and a connection that speaks it.

The statements in bot/store/sql.py are portable but for a few spellings: `?` placeholders (`$1`…),
the column named `user` (a reserved word here), and json_extract(col, '$.key'). Each statement is
rewritten once and cached.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
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


# the connection of the transaction the current task is in, if it is in one
_TRANSACTION: ContextVar[asyncpg.Connection | None] = ContextVar("pg_transaction", default=None)


class PgDatabase:
    """A pool with aiosqlite's three calls: a statement runs on the current task's transaction, if
    it is in one, or on any free connection of the pool."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def _call(self, method: str, sql: str, *args: Any) -> Any:
        connection = _TRANSACTION.get()
        if connection is not None:
            return await getattr(connection, method)(to_postgres(sql), *args)
        async with self.pool.acquire() as connection:
            return await getattr(connection, method)(to_postgres(sql), *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(await self._call("execute", sql, *params))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self._call("fetch", sql, *params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._call("executemany", sql, rows)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._call("fetchval", sql, *args)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgDatabase]:
        """A connection of its own for the transaction; statements of this task run on it."""
        if _TRANSACTION.get() is not None:
            yield self  # nested: part of the open one
            return
        async with self.pool.acquire() as connection:
            token = _TRANSACTION.set(connection)
            try:
                async with connection.transaction():
                    yield self
            finally:
                _TRANSACTION.reset(token)

    async def close(self) -> None:
        await self.pool.close()
