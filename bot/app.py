"""Wiring shared by every entry point: settings → playbooks, store, dispatcher."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.engine.types import Context, ConversationKey, OutageInfo
from bot.outages import info
from bot.playbook.catalog import Catalog
from bot.playbook.loader import load_catalog, load_contact_overrides
from bot.playbook.model import Contact
from bot.playbook.shipped import shipped_playbooks_dir
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.handover import Handover
from bot.runtime.ops import Operations
from bot.runtime.workcal import WorkCalendar, parse_hours
from bot.store.process_lock import ProcessLock
from bot.store.sqlite import SqliteStore

ADMIN_CHANNELS = frozenset({"console"})  # whoever runs the CLI on the bot's machine is trusted
OUTAGE_CACHE_S = 1.0


def playbook_paths(settings: Settings) -> list[Path]:
    return [settings.PLAYBOOKS_DIR or shipped_playbooks_dir()]


@dataclass
class App:
    settings: Settings
    catalog: Catalog
    contacts: dict[str, Contact]
    store: SqliteStore
    dispatcher: Dispatcher
    clock: Clock
    calendar: WorkCalendar | None = None
    lock: ProcessLock | None = None  # held by the one process that runs conversations on the database
    _outages: tuple[float, tuple[OutageInfo, ...]] = field(default=(0.0, ()), repr=False)

    async def open_outages(self) -> tuple[OutageInfo, ...]:
        """Declared outages, re-read at most once a second (a CLI may declare one at any time)."""
        read_at, outages = self._outages
        if _time.monotonic() - read_at > OUTAGE_CACHE_S:
            outages = tuple(info(o) for o in await self.store.open_outages())
            self._outages = (_time.monotonic(), outages)
        return outages

    def is_admin(self, key: ConversationKey) -> bool:
        """The console is trusted; elsewhere exactly the ids the settings list (none by default)."""
        if key.channel in ADMIN_CHANNELS:
            return True
        if key.channel == "telegram":
            return key.user.lstrip("-").isdigit() and int(key.user) in self.settings.TELEGRAM_ADMIN_IDS
        if key.channel == "wecom":
            return key.user in self.settings.WECOM_ADMIN_USERS
        return False

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
            buttons=key.channel != "console",
        )

    async def close(self) -> None:
        await self.store.close()
        if self.lock is not None:
            self.lock.release()


def load_playbooks_for(settings: Settings) -> tuple[Catalog, dict[str, Contact]]:
    """Raises PlaybookError naming file:line for broken playbooks or contacts file."""
    catalog = load_catalog(playbook_paths(settings))
    contacts = load_contact_overrides(settings.CONTACTS_FILE) if settings.CONTACTS_FILE else {}
    return catalog, contacts


async def open_app(settings: Settings, clock: Clock | None = None, role: str | None = None) -> App:
    """`role` ("run", "chat"): this process will run conversations, so it takes the database's
    process lock first (DatabaseInUse when another one holds it)."""
    catalog, contacts = load_playbooks_for(settings)
    lock = ProcessLock(settings.OUTAGE_BOT_DB, role) if role else None
    if lock is not None:
        lock.acquire()
    store = SqliteStore(settings.OUTAGE_BOT_DB)
    try:
        await store.open()
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
    return app
