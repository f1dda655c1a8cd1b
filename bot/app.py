"""Wiring shared by every entry point: settings → playbooks, store, dispatcher."""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.channels.registry import Rules, split
from bot.config import Settings
from bot.engine.types import Context, ConversationKey, OutageInfo
from bot.features.commands import Operations
from bot.features.handover import Handover
from bot.features.outages import info
from bot.features.workcal import WorkCalendar, parse_hours
from bot.invoices.sandbox import InvoiceReader
from bot.playbook.catalog import Catalog
from bot.playbook.loader import load_catalog, load_contact_overrides
from bot.playbook.model import Contact
from bot.playbook.shipped import shipped_playbooks_dir
from bot.ports import ChannelHost
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.dispatcher import Dispatcher
from bot.store.postgres import PostgresStore
from bot.store.process_lock import ProcessLock
from bot.store.sql import SqlStore
from bot.store.sqlite import SqliteStore

OUTAGE_CACHE_S = 1.0


def playbook_paths(settings: Settings) -> list[Path]:
    return [settings.PLAYBOOKS_DIR or shipped_playbooks_dir()]


@dataclass
class App:
    settings: Settings
    catalog: Catalog
    contacts: dict[str, Contact]
    store: SqlStore
    dispatcher: Dispatcher
    clock: Clock
    calendar: WorkCalendar | None = None
    lock: ProcessLock | None = None  # held by the one process that runs conversations on the database
    platforms: Rules | None = field(default=None, repr=False)  # the platforms' rules; from settings if not given
    _outages: tuple[float, tuple[OutageInfo, ...]] = field(default=(0.0, ()), repr=False)

    def __post_init__(self) -> None:
        if self.platforms is None:
            self.platforms = Rules(self.settings)

    async def open_outages(self) -> tuple[OutageInfo, ...]:
        """Declared outages, re-read at most once a second (a CLI may declare one at any time)."""
        read_at, outages = self._outages
        if _time.monotonic() - read_at > OUTAGE_CACHE_S:
            outages = tuple(info(o) for o in await self.store.open_outages())
            self._outages = (_time.monotonic(), outages)
        return outages

    def is_admin(self, key: ConversationKey) -> bool:
        """As its platform says: the console is trusted; elsewhere the ids the settings list."""
        return self.platforms.is_admin(key)

    def host(self, on_accept: Callable[[], None] = lambda: None) -> ChannelHost:
        """What a running channel gets of the application."""
        return ChannelHost(self.settings, self.clock, self.store, self.dispatcher.submit, on_accept)

    async def context_for(self, key: ConversationKey) -> Context:
        outages = await self.open_outages()
        region = None
        if any(o.region for o in outages):  # only then does the user's region matter
            region = await self.store.region_of(f"{key.channel}:{key.user}")
        return Context(
            lang=self.settings.OUTAGE_BOT_LANG,
            tz=self.settings.OUTAGE_BOT_TZ,
            outages=outages,
            user_region=region,
            support_available=self.dispatcher.handover is not None and self.dispatcher.handover.available,
            contacts=self.contacts,
            is_admin=self.is_admin(key),
            idle_minutes=self.settings.CONVERSATION_IDLE_MINUTES,
            match_threshold=self.settings.MATCH_THRESHOLD,
            buttons=self.platforms.buttons(key.channel),
        )

    async def close(self) -> None:
        await self.dispatcher.attachments.close()
        await self.store.close()
        if self.lock is not None:
            self.lock.release()


def open_store(settings: Settings, must_exist: bool = False) -> SqlStore:
    """The store the settings name (a SQLite file, or PostgreSQL by URL), splitting what enters its
    outbox as each platform requires."""
    if settings.database_is_postgres:
        return PostgresStore(settings.OUTAGE_BOT_DB, must_exist=must_exist, split=split)
    return SqliteStore(settings.OUTAGE_BOT_DB, must_exist=must_exist, split=split)


def load_playbooks_for(settings: Settings) -> tuple[Catalog, dict[str, Contact]]:
    """Raises PlaybookError naming file:line for broken playbooks or contacts file."""
    catalog = load_catalog(playbook_paths(settings))
    contacts = load_contact_overrides(settings.CONTACTS_FILE) if settings.CONTACTS_FILE else {}
    return catalog, contacts


async def open_app(settings: Settings, clock: Clock | None = None, role: str | None = None) -> App:
    """`role` ("run", "chat"): this process will run conversations, so it takes the database's
    process lock first (DatabaseInUse when another one holds it)."""
    catalog, contacts = load_playbooks_for(settings)
    lock = None
    if role and not settings.database_is_postgres:
        lock = ProcessLock(settings.OUTAGE_BOT_DB, role)
        lock.acquire()
    store = open_store(settings)
    try:
        await store.open()  # on PostgreSQL, several processes share it: claims keep them apart
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    clock = clock or SystemClock()
    calendar = WorkCalendar(settings.tz, *parse_hours(settings.WORKING_HOURS))
    app = App(settings, catalog, contacts, store, None, clock, calendar, lock)  # type: ignore[arg-type]
    app.dispatcher = Dispatcher(store, catalog, app.context_for, clock)
    app.dispatcher.ops = Operations(app)
    app.dispatcher.handover = Handover(app)
    app.dispatcher.catalog_lang = settings.OUTAGE_BOT_LANG
    app.dispatcher.attachments.reader = InvoiceReader(
        time_limit_s=settings.INVOICE_READ_TIMEOUT_S, parallel=settings.INVOICE_READ_PARALLEL
    )
    return app
