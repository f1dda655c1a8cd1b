"""Wiring shared by every entry point: settings → playbooks, store, dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.engine.types import Context, ConversationKey
from bot.playbook.catalog import Catalog
from bot.playbook.loader import load_catalog, load_contact_overrides
from bot.playbook.model import Contact
from bot.playbook.shipped import shipped_playbooks_dir
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.dispatcher import Dispatcher
from bot.store.sqlite import SqliteStore

ADMIN_CHANNELS = frozenset({"console"})  # whoever runs the CLI on the bot's machine is trusted


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

    def is_admin(self, key: ConversationKey) -> bool:
        """The console is trusted; elsewhere exactly the ids the settings list (none by default)."""
        if key.channel in ADMIN_CHANNELS:
            return True
        if key.channel == "telegram":
            return key.user.lstrip("-").isdigit() and int(key.user) in self.settings.TELEGRAM_ADMIN_IDS
        if key.channel == "wecom":
            return key.user in self.settings.WECOM_ADMIN_USERS
        return False

    def context_for(self, key: ConversationKey) -> Context:
        return Context(
            lang=self.settings.OUTAGE_BOT_LANG,
            contacts=self.contacts,
            is_admin=self.is_admin(key),
            idle_minutes=self.settings.CONVERSATION_IDLE_MINUTES,
            match_threshold=self.settings.MATCH_THRESHOLD,
        )

    async def close(self) -> None:
        await self.store.close()


def load_playbooks_for(settings: Settings) -> tuple[Catalog, dict[str, Contact]]:
    """Raises PlaybookError naming file:line for broken playbooks or contacts file."""
    catalog = load_catalog(playbook_paths(settings))
    contacts = load_contact_overrides(settings.CONTACTS_FILE) if settings.CONTACTS_FILE else {}
    return catalog, contacts


async def open_app(settings: Settings, clock: Clock | None = None, splitters: dict | None = None) -> App:
    catalog, contacts = load_playbooks_for(settings)
    store = SqliteStore(settings.OUTAGE_BOT_DB)
    await store.open()
    clock = clock or SystemClock()
    app = App(settings, catalog, contacts, store, None, clock)  # type: ignore[arg-type]
    app.dispatcher = Dispatcher(store, catalog, app.context_for, clock, splitters)
    return app
