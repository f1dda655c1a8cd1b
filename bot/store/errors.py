"""What a failing database raises, on either backend: the runtime backs off, the web answers 503."""

from __future__ import annotations

import sqlite3

import asyncpg

STORE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)
