"""The SQLite backend: one file, WAL, one transaction per turn."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiosqlite

from bot.store.base import SchemaTooNew, Split, StoreUnavailable
from bot.store.schema import MIGRATIONS, SCHEMA_VERSION
from bot.store.sql import SqlStore
from bot.store.write_health import WriteHealth

SQLITE_HEADER = b"SQLite format 3\x00"


class SqliteStore(SqlStore):
    DUPLICATE = sqlite3.IntegrityError

    def __init__(self, path: Path | str, must_exist: bool = False, split: Split = list):
        self.path = Path(path)
        self.must_exist = must_exist  # a command that only reads never creates an empty database
        self.health = WriteHealth()
        self.split = split  # each outbound message as its platform's messages (given by the application)
        self._db: aiosqlite.Connection | None = None
        # One connection serves every task: a transaction holds this lock, so no other task's
        # statement can slip into it (and be committed or rolled back with it).
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SqliteStore is not open; call `await store.open()` first")
        return self._db

    def _check_file(self) -> None:
        """Refuse at once what SQLite would fail on late, or hang on: a directory, a device or /proc
        file, a file of another kind, or (for a reading command) a database that isn't there."""
        path = self.path
        if not path.exists():
            if self.must_exist:
                raise StoreUnavailable(f"no database at {path} (check --db or OUTAGE_BOT_DB)")
            return
        if not path.is_file():
            raise StoreUnavailable(f"{path} is not a file")
        try:
            with path.open("rb") as file:
                head = file.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
        if head and head != SQLITE_HEADER:
            raise StoreUnavailable(f"{path} is not an SQLite database")

    async def open(self) -> None:
        self._check_file()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {self.path.parent}: {exc.strerror or exc}") from None
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)  # we BEGIN ourselves
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            await self._db.execute("PRAGMA busy_timeout=5000")  # the CLI and the bot share the file
            await self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            await self.close()
            raise StoreUnavailable(f"{self.path}: {exc}") from None
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _migrate(self) -> None:
        (version,) = await (await self.db.execute("PRAGMA user_version")).fetchone()
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} has schema version {version}; this outage-bot knows up to {SCHEMA_VERSION}. "
                "Upgrade outage-bot or use another database (OUTAGE_BOT_DB)."
            )
        for number in range(version, SCHEMA_VERSION):
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                await self._run_script(MIGRATIONS[number])
                await self.db.execute(f"PRAGMA user_version = {number + 1}")
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise

    async def _run_script(self, script: str) -> None:
        # executescript() would COMMIT our open transaction; run statement by statement instead
        for statement in script.split(";"):
            if statement.strip():
                await self.db.execute(statement)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); nested calls join the open transaction."""
        if self._owner is asyncio.current_task():
            yield self.db
            return
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    await self.db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # nothing to roll back if it already ended
                        await self.db.execute("ROLLBACK")
                    raise
                self.health.succeeded()
            except sqlite3.IntegrityError:
                raise  # the data, not the database
            except sqlite3.Error as exc:
                self.health.failed(exc)
                raise
            finally:
                self._owner = None

    async def _write(self, sql: str, params: Sequence = ()) -> aiosqlite.Cursor:
        """One statement, never inside another task's transaction."""
        async with self.transaction() as db:
            return await db.execute(sql, params)

    async def schema_version(self) -> int:
        (version,) = await (await self.db.execute("PRAGMA user_version")).fetchone()
        return version

    # ---- inbox -------------------------------------------------------------------------------

    async def integrity(self) -> str:
        try:
            (result,) = (await self.db.execute_fetchall("PRAGMA integrity_check"))[0]
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return result

    async def backup(self, target: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup), safe while the bot runs."""
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target, check_same_thread=False)  # aiosqlite's thread writes it
        try:
            # between transactions on this connection: a backup queued behind an open transaction of
            # another task would wait for its COMMIT, which would wait behind the backup
            async with self._lock:
                await self.db.backup(destination)
        finally:
            destination.close()
