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

_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|\bIN \(\s*\?(?:\s*,\s*\?)*\s*\)|\?|\buser\b"
    r"|json_extract\((\w+(?:\.\w+)?), '\$\.(\w+)'\)"
)
Plan = tuple[int, ...]  # per placeholder of the PostgreSQL statement: 0 one value, n an array of n


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, Plan]:
    """The statement for PostgreSQL, and how its parameters are grouped: a list `IN (?, ?, …)`
    becomes `= ANY($n)` with one array, so a statement has one form whatever the list's length
    (one prepared statement, not one per length)."""
    plan: list[int] = []

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith(("'", '"')):
            return token  # a string or a quoted name: left as it is
        if token.startswith("IN"):
            plan.append(token.count("?"))
            return f"= ANY(${len(plan)})"
        if token == "?":
            plan.append(0)
            return f"${len(plan)}"
        if token == "user":
            return '"user"'
        return f"({match.group(1)}::jsonb ->> '{match.group(2)}')"

    return _TOKENS.sub(replace, sql), tuple(plan)


def bind(plan: Plan, params: Sequence[Any]) -> list[Any]:
    if not any(plan):
        return list(params)
    bound, at = [], 0
    for size in plan:
        if size:
            bound.append(list(params[at : at + size]))
            at += size
        else:
            bound.append(params[at])
            at += 1
    return bound


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
            return await getattr(connection, method)(sql, *args)
        async with self.pool.acquire() as connection:
            return await getattr(connection, method)(sql, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        statement, plan = translate(sql)
        return Result(await self._call("execute", statement, *bind(plan, params)))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        statement, plan = translate(sql)
        return await self._call("fetch", statement, *bind(plan, params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            statement, plan = translate(sql)
            await self._call("executemany", statement, [bind(plan, row) for row in rows])

    async def fetchval(self, sql: str, *args: Any) -> Any:
        statement, plan = translate(sql)
        return await self._call("fetchval", statement, *bind(plan, args))

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
