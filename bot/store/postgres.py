"""The PostgreSQL backend: the same statements as SQLite's (bot/store/sql.py), for one or several
workers on a shared database.

OUTAGE_BOT_DB=postgresql://user@host:port/db[?schema=NAME]: `schema` (not a libpq option) puts the
tables in a schema of their own, created if missing. Migrations run under an advisory lock, so
workers starting together migrate once.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from bot.store.base import InboxRow, SchemaTooNew, Split, StoreUnavailable
from bot.store.codec import decode_inbound
from bot.store.pg_sql import PgDatabase, Result
from bot.store.postgres_schema import PG_MIGRATIONS
from bot.store.schema import SCHEMA_VERSION
from bot.store.sql import SqlStore
from bot.store.write_health import WriteHealth

CONNECT_TIMEOUT_S = 10.0
POOL_SIZE = 8  # connections per worker
LEASE_S = 15.0  # a conversation taken by a worker that died is free again after this long
MIGRATION_LOCK = 0x6F75746167  # pg_advisory_xact_lock key: "outag"
LEADER_LOCK = 0x6F75746C  # with hashtext(schema): the leading worker
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)  # what a failing server raises here
assert len(PG_MIGRATIONS) == SCHEMA_VERSION, "every SQLite migration has its PostgreSQL twin"


class PostgresUnavailable(StoreUnavailable):
    """The server can't be reached or refuses us; the message says which and what to check."""


def split_url(url: str) -> tuple[str, str]:
    """(the URL for asyncpg, the schema): our `schema` parameter taken out of the query."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), "public")
    if not SCHEMA_NAME.match(schema):
        raise PostgresUnavailable(f"schema {schema!r}: use lower-case letters, digits and _")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


class PostgresStore(SqlStore):
    DUPLICATE = asyncpg.UniqueViolationError

    def __init__(self, url: str, must_exist: bool = False, split: Split = list, worker: str | None = None):
        self.url = url
        self.worker = worker or f"{socket.gethostname()}-{os.getpid()}"
        self.dsn, self.schema = split_url(url)
        self.must_exist = must_exist
        self.health = WriteHealth()
        self.split = split
        self._db: PgDatabase | None = None
        self._listener: asyncpg.Connection | None = None

    @property
    def db(self) -> PgDatabase:
        if self._db is None:
            raise RuntimeError("PostgresStore is not open; call `await store.open()` first")
        return self._db

    async def open(self) -> None:
        try:
            first = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
            try:
                await first.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            finally:
                await first.close()
            pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"search_path": self.schema},
            )
        except (*PG_ERRORS, TimeoutError) as exc:
            raise PostgresUnavailable(f"{redacted(self.url)}: {type(exc).__name__}: {exc}") from None
        self._db = PgDatabase(pool)
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self.unwatch_outbox()
        if self._db is not None:
            with contextlib.suppress(*PG_ERRORS):
                await self._db.close()
            self._db = None

    async def _migrate(self) -> None:
        async with self.db.transaction() as db:
            await db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            await db.execute("CREATE TABLE IF NOT EXISTS outage_bot_schema (version INTEGER NOT NULL)")
            version = await db.fetchval("SELECT version FROM outage_bot_schema")
            if version is None:
                await db.execute("INSERT INTO outage_bot_schema (version) VALUES (0)")
                version = 0
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{redacted(self.url)} has schema version {version}; this outage-bot knows up to "
                    f"{SCHEMA_VERSION}. Upgrade outage-bot or use another database (OUTAGE_BOT_DB)."
                )
            for number in range(version, SCHEMA_VERSION):
                await db.execute(PG_MIGRATIONS[number])  # several statements: no parameters
                await db.execute("UPDATE outage_bot_schema SET version = ?", (number + 1,))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgDatabase]:
        """BEGIN … COMMIT on a pooled connection (ROLLBACK on error); nested calls join the open one.
        Transactions of different tasks run side by side: row locks keep them apart."""
        try:
            async with self.db.transaction() as db:
                yield db
            self.health.succeeded()
        except self.DUPLICATE:
            raise  # the data, not the database
        except PG_ERRORS as exc:
            self.health.failed(exc)
            raise

    async def _write(self, sql: str, params: Sequence = ()) -> Result:
        async with self.transaction() as db:
            return await db.execute(sql, params)

    # ---- several workers ------------------------------------------------------------------------

    async def claim(self, limit: int = 100) -> list[InboxRow]:
        """The messages of conversations no other worker holds, oldest first, each conversation
        leased to this worker until LEASE_S from now (a worker that dies loses its leases then)."""
        now = time.time()
        async with self.transaction() as db:
            held = await db.execute_fetchall(
                "INSERT INTO leases (conversation, worker, until) "
                "SELECT conversation, ?, ? FROM ("
                "  SELECT conversation, MIN(id) AS first FROM inbox i WHERE NOT EXISTS ("
                "    SELECT 1 FROM leases l WHERE l.conversation = i.conversation AND l.until >= ?)"
                "  GROUP BY conversation ORDER BY first LIMIT ?) AS free "
                "ON CONFLICT (conversation) DO UPDATE SET worker = excluded.worker, until = excluded.until "
                "WHERE leases.until < ? RETURNING conversation",
                (self.worker, now + LEASE_S, now, limit, now),
            )
        if not held:
            return []
        rows = await self.db.execute_fetchall(
            "SELECT id, channel, dedupe_key, inbound FROM inbox WHERE conversation = ANY(?) ORDER BY id LIMIT ?",
            ([r[0] for r in held], limit),
        )
        return [InboxRow(r[0], r[1], r[2], decode_inbound(r[3])) for r in rows]

    @property
    def _outbox_channel(self) -> str:
        return f"outage_bot_outbox_{self.schema}"[:63]

    async def _outbox_changed(self, db: PgDatabase) -> None:
        await db.execute("SELECT pg_notify(?, '')", (self._outbox_channel,))  # sent when this commits

    async def watch_outbox(self, wake) -> None:
        """The leader hears when any worker queues messages (LISTEN/NOTIFY), so what a follower
        processed leaves at once rather than at the sender's next poll."""
        await self.unwatch_outbox()
        self._listener = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
        await self._listener.add_listener(self._outbox_channel, lambda *_: wake())

    async def unwatch_outbox(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(*PG_ERRORS, TimeoutError):
                await listener.close(timeout=5)

    def leader_lock(self) -> PgLeaderLock:
        return PgLeaderLock(self.dsn, self.schema)

    async def release_claims(self) -> None:
        await self._write("DELETE FROM leases WHERE worker = ?", (self.worker,))

    async def extend_claims(self) -> None:
        await self._write("UPDATE leases SET until = ? WHERE worker = ?", (time.time() + LEASE_S, self.worker))

    async def schema_version(self) -> int:
        return int(await self.db.fetchval("SELECT version FROM outage_bot_schema"))

    async def integrity(self) -> str:
        return "ok" if await self.ping() else "no answer"

    async def backup(self, target: Path) -> None:
        raise PostgresUnavailable(
            "outage-bot backup copies SQLite files; for PostgreSQL use pg_dump "
            f"(for example: pg_dump --schema={self.schema} -Fc -f {target} DBNAME)"
        )


class PgLeaderLock:
    """A session advisory lock on a connection of its own: held while that connection lives."""

    def __init__(self, dsn: str, schema: str):
        self.dsn, self.schema = dsn, schema
        self._connection: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
            return bool(
                await self._connection.fetchval(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))", LEADER_LOCK, self.schema
                )
            )
        except (*PG_ERRORS, TimeoutError):
            await self.release()
            return False

    async def still_held(self) -> bool:
        try:
            return self._connection is not None and await self._connection.fetchval("SELECT 1", timeout=5) == 1
        except (*PG_ERRORS, TimeoutError):
            await self.release()
            return False

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*PG_ERRORS, TimeoutError):
                await connection.close(timeout=5)
