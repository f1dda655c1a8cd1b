"""Rendering the engine's texts and a playbook's localised strings in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from bot.engine.types import Context, ConversationState
from bot.i18n import Lang, pick
from bot.playbook.catalog import Catalog
from bot.playbook.model import Contact, Playbook
from bot.playbook.yamlsrc import load_yaml


@cache
def ui_texts() -> dict[str, dict[str, str]]:
    """The engine's own texts (bot/ui.yaml), read once."""
    return load_yaml(resources.files("bot").joinpath("ui.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Speaker:
    """Speaks one user's language, with one playbook's text overrides when a playbook is chosen."""

    catalog: Catalog
    book: Playbook | None
    state: ConversationState
    context: Context
    lang: Lang
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # one turn's derived values

    def variables(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "slots": self.state.slots(),
            "chosen": self.state.chosen(),
            "lang": self.lang,
            "outage": None,
            "buttons": self.context.buttons,
            **extra,
        }

    def local(self, value: Mapping[str, str] | None, **extra: Any) -> str:
        """A playbook's {zh, en} template, rendered."""
        if not value:
            return ""
        source = pick(value, self.lang)
        if "{" not in source:  # plain text (most of them): no variables to gather
            return source
        return self.catalog.templates.render(source, self.variables(extra))

    def t(self, key: str, **extra: Any) -> str:
        """An engine text, from the playbook's `texts` if it overrides it."""
        book = self.book or (self.catalog.playbooks[0] if len(self.catalog.playbooks) == 1 else None)
        source = book.texts.get(key) if book else None
        return self.local(source or ui_texts()[key], **extra)

    def contact(self, contact_id: str) -> Contact | None:
        override = self.context.contacts.get(contact_id)
        if override is not None:
            return override
        books = [self.book] if self.book else self.catalog.playbooks
        return next((c for book in books if (c := book.contact(contact_id))), None)

    def contact_text(self, contact: Contact) -> str:
        # a phone line whose hours we don't know gets "hours vary, confirm first"
        hours = self.local(contact.hours) if contact.hours else (self.t("hours_unknown") if contact.phone else "")
        if hours and contact.timezone:
            hours += f" ({contact.timezone})"
        view = {
            "name": self.local(contact.name),
            "phone": contact.phone,
            "link": contact.link,
            "hours": hours,
            "note": self.local(contact.note) if contact.note else "",
            "prepare": "；".join(pick(contact.prepare, self.lang)) if contact.prepare else "",
        }
        if self.lang == "en" and view["prepare"]:
            view["prepare"] = "; ".join(pick(contact.prepare, self.lang))
        return self.t("contact_line", contact=view)
