"""Declaring, updating and resolving outages, and what subscribed groups hear about them.

Used by `outage-bot outage …` and by admins' `/outage …` in chat. Each change is one transaction:
the outage row, the broadcast to every subscribed group (outbox rows) and the reminder plan, so a
running bot delivers them within a second or two, under each platform's limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.engine.diagnosis import regions, same_region
from bot.engine.texts import ui_texts
from bot.engine.types import ConversationKey, OutageInfo
from bot.features.workcal import WorkCalendar
from bot.i18n import LANGS, pick
from bot.playbook.catalog import Catalog
from bot.playbook.model import Playbook
from bot.store.base import Group, Outage, OutageConflict, OutboundMessage, Subscription
from bot.store.sql import SqlStore


class OutageError(Exception):
    """A request about outages that can't be done; the message says why."""


def pick_system(catalog: Catalog, system: str | None) -> Playbook:
    """The playbook of `system`, or of the only playbook when none is given."""
    if system is None:
        if len(catalog.playbooks) != 1:
            known = ", ".join(b.system for b in catalog.playbooks)
            raise OutageError(f"several systems have playbooks ({known}): name one with --system")
        return catalog.playbooks[0]
    book = catalog.by_system(system)
    if book is None:
        known = ", ".join(b.system for b in catalog.playbooks)
        raise OutageError(f"no playbook for system {system!r} (known: {known})")
    return book


def parse_moment(text: str, now: datetime, tz: ZoneInfo, flag: str = "--until") -> datetime:
    """ISO 8601, or HH:MM in the bot's time zone (today, or tomorrow once past); in the future."""
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        clock = None
    if clock is not None and len(text) <= 5:
        local = now.astimezone(tz)
        moment = local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        if moment <= local:
            moment += timedelta(days=1)
        return moment
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise OutageError(f"{flag} {text!r}: give ISO 8601 (2026-03-02T20:00+08:00) or HH:MM") from None
    moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    if moment <= now:
        raise OutageError(f"{flag} {text!r} is in the past: give a time still to come")
    return moment


def parse_until(text: str | None, now: datetime, tz: ZoneInfo) -> str | None:
    """--until → 'YYYY-MM-DD HH:MM' in the bot's time zone (as notices show it)."""
    return None if text is None else parse_moment(text, now, tz).strftime("%Y-%m-%d %H:%M")


_NEXT_UPDATE = re.compile(
    r"\s*(?:下次更新|下次进展|next(?:\s+update)?)\s*[:：]?\s*(\d{1,2}[:：]\d{2})\s*$", re.IGNORECASE
)


def split_next_update(text: str) -> tuple[str, str | None]:
    """A chat command's "… 下次更新 15:30" / "… next 15:30": (the rest, "15:30") or (text, None)."""
    m = _NEXT_UPDATE.search(text)
    if m is None:
        return text, None
    return text[: m.start()].strip(), m[1].replace("：", ":")


MAX_SUMMARY = 500  # characters: the notice goes to every subscribed group


def checked_summary(summary: str | None) -> str:
    text = " ".join((summary or "").split())
    if not text:
        raise OutageError("the summary is empty: say what is wrong, e.g. --summary 发票查验平台维护")
    if len(text) > MAX_SUMMARY:
        raise OutageError(f"the summary has {len(text)} characters; keep it under {MAX_SUMMARY}")
    return text


def checked_link(link: str | None) -> str | None:
    """Only an http(s) address goes out to the groups: never javascript:, data: or a file path."""
    if link is None:
        return None
    parsed = urlsplit(link.strip())
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in link.strip()):
        raise OutageError(f"--link {link!r}: give an http(s) address of the official notice")
    return link.strip()


def info(outage: Outage) -> OutageInfo:
    return OutageInfo(outage.system, outage.summary, outage.region, outage.until, outage.link, outage.components)


def concerns(subscription: Subscription, components: tuple[str, ...], region: str | None) -> bool:
    """An outage concerns a subscriber who wants any of its components (or all, or it names none)
    in their province (or everywhere, or it names none)."""
    parts = not subscription.components or not components or bool(set(subscription.components) & set(components))
    where = (
        subscription.region is None
        or region is None
        or any(same_region(subscription.region, r) for r in regions(region))
    )
    return parts and where


def pick_components(book: Playbook, words: list[str]) -> tuple[str, ...]:
    """--component values (ids, titles or aliases) → the playbook's component ids, in its order."""
    found = set()
    for word in words:
        component = book.component(word)
        if component is None:
            known = ", ".join(f"{c.id} ({c.title.get('zh', '')})" for c in book.components) or "none"
            raise OutageError(f"no component {word!r} in the {book.id} playbook (known: {known})")
        found.add(component.id)
    return tuple(c.id for c in book.components if c.id in found)


@dataclass(frozen=True)
class Announcement:
    text: str
    groups: list[Group]
    people: list[Subscription] = field(default_factory=list)  # personal subscribers it concerns


class Outages:
    def __init__(self, store: SqlStore, catalog: Catalog, calendar: WorkCalendar, public_url: str | None = None):
        self.store, self.catalog, self.calendar = store, catalog, calendar
        # the status page, linked from every notice when the bot is reachable from outside
        self.status_url = f"{public_url.rstrip('/')}/status" if public_url else None

    def render(
        self,
        book: Playbook,
        key: str,
        outage: Outage | OutageInfo,
        records=(),
        next_update: datetime | None = None,
        window: dict | None = None,
    ) -> str:
        """A group message: Chinese first, then English, from the playbook's outage texts or the defaults.
        `next_update`: when the next update is promised (shown as HH:MM, with the date if not today)."""
        # once resolved, an "expected back" time (often inside the last update's summary) is history
        until = None if key == "resolve" else outage.until
        view = {"summary": outage.summary, "region": outage.region, "until": until, "link": outage.link}
        view["next_update"] = self._clock_time(next_update, getattr(outage, "updated_at", None) or next_update)
        view |= window or {}  # a maintenance window's start
        parts = []
        for lang in LANGS:
            titles = [pick(c.title, lang) for c in book.components if c.id in outage.components]
            view = view | {"affected": ("、" if lang == "zh" else ", ").join(titles) or None}
            status_url = f"{self.status_url}?lang={lang}" if self.status_url else None
            variables = {
                "outage": view,
                "records": list(records),
                "lang": lang,
                "checklist": "",
                "status_url": status_url,
            }
            if key == "resolve":
                variables["checklist"] = self.render_one(book, "checklist", lang, variables)
            parts.append(self.render_one(book, key, lang, variables))
        return "\n\n".join(parts)

    def render_one(self, book: Playbook, key: str, lang: str, variables: dict) -> str:
        override = getattr(book.outage, key, None) if book.outage else None
        source = override or ui_texts()[f"outage_{key}"]
        return self.catalog.templates.render(source.get(lang) or source["zh"], variables)

    def _clock_time(self, moment: datetime | None, said_at: datetime | None) -> str | None:
        if moment is None:
            return None
        local = moment.astimezone(self.calendar.tz)
        same_day = said_at is not None and said_at.astimezone(self.calendar.tz).date() == local.date()
        return local.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")

    async def subscribed(self) -> list[Group]:
        return [g for g in await self.store.groups() if g.subscribed]

    async def open_for(self, book: Playbook) -> Outage | None:
        return next((o for o in await self.store.open_outages() if o.system == book.system), None)

    async def people(self, outage: Outage | OutageInfo) -> list[Subscription]:
        """Personal subscribers whose components and province the outage concerns."""
        return [p for p in await self.store.subscriptions() if concerns(p, outage.components, outage.region)]

    async def announcement(self, text: str, outage: Outage | OutageInfo) -> Announcement:
        """A notice and everyone it goes to: the subscribed groups and the people it concerns."""
        return Announcement(text, await self.subscribed(), await self.people(outage))

    async def send(self, announcement: Announcement, now: datetime) -> None:
        await self.store.enqueue(self._broadcast(announcement.text, announcement.groups, announcement.people), now)

    def _broadcast(self, text: str, groups: list[Group], people: list[Subscription] = ()) -> list[OutboundMessage]:
        payload = {"text": text, "options": [], "lang": "zh"}
        to_groups = [OutboundMessage(g.channel, g.chat, payload) for g in groups]
        return to_groups + [OutboundMessage(p.channel, p.chat, payload) for p in people]

    async def start(
        self,
        book: Playbook,
        summary: str,
        region: str | None,
        until: str | None,
        link: str | None,
        now: datetime,
        dry_run: bool = False,
        next_update: datetime | None = None,
        components: tuple[str, ...] = (),
        announce: bool = True,
    ) -> tuple[Outage | None, Announcement]:
        """Declare an outage: the notice to every subscriber it concerns (unless not `announce`)
        and the groups' reminder plan, in one transaction."""
        summary, link = checked_summary(summary), checked_link(link)
        region = "、".join(regions(region)) or None  # 北京,上海 → 北京、上海
        existing = await self.open_for(book)
        if existing is not None:
            raise OutageConflict(
                f"an outage of {book.system} is already open since "
                f"{existing.started_at:%Y-%m-%d %H:%M}: {existing.summary}"
            )
        preview = OutageInfo(book.system, summary, region, until, link, components)
        announcement = await self.announcement(self.render(book, "announce", preview, (), next_update), preview)
        if dry_run:
            return None, announcement
        every = timedelta(hours=book.outage.reminder_every_hours if book.outage else 2)
        async with self.store.transaction():
            outage = await self.store.start_outage(
                book.system, summary, region, until, link, now, next_update, components
            )
            if announce:
                await self.send(announcement, now)
            reminder = self.render(book, "reminder", outage)
            first = self.calendar.into_working_time(now + every)
            for group in announcement.groups:
                await self.store.add_reminder(
                    "plan",
                    group.channel,
                    group.chat,
                    reminder,
                    first,
                    every.total_seconds(),
                    now,
                    working_hours=True,
                    outage_id=outage.id,
                )
        return outage, announcement

    async def update(
        self,
        book: Playbook,
        summary: str,
        until: str | None,
        now: datetime,
        dry_run: bool = False,
        next_update: datetime | None = None,
    ) -> tuple[Outage, Announcement]:
        summary = checked_summary(summary)
        outage = await self.open_for(book)
        if outage is None:
            raise OutageError(f"no open outage of {book.system} to update")
        preview = OutageInfo(book.system, summary, outage.region, until or outage.until, outage.link, outage.components)
        announcement = await self.announcement(self.render(book, "update", preview, (), next_update), preview)
        if dry_run:
            return outage, announcement
        async with self.store.transaction():
            outage = await self.store.update_outage(outage.id, summary, until, now, next_update)
            await self.send(announcement, now)
            # the reminders to come quote the new summary and expected time
            reminder = self.render(book, "reminder", outage)
            await self.store.retext_plan_reminders(outage.id, reminder)
        return outage, announcement

    async def resolve(
        self, book: Playbook, now: datetime, dry_run: bool = False, announce: bool = True
    ) -> tuple[Outage, Announcement]:
        outage = await self.open_for(book)
        if outage is None:
            raise OutageError(f"no open outage of {book.system} to resolve")
        records = [vars(r) for r in await self.store.records(since=outage.started_at)]
        announcement = await self.announcement(self.render(book, "resolve", outage, records), outage)
        if dry_run:
            return outage, announcement
        checklist = "\n\n".join(
            self.render_one(book, "checklist", lang, {"outage": outage, "records": records, "lang": lang})
            for lang in LANGS
        )
        at = book.outage.checklist_at if book.outage else "09:00"
        morning = self._next_working_morning(now, time.fromisoformat(at))
        async with self.store.transaction():
            await self.store.resolve_outage(outage.id, now)  # also ends the reminder plan
            if announce:
                await self.send(announcement, now)
            for group in announcement.groups:
                await self.store.add_reminder(
                    "checklist", group.channel, group.chat, checklist, morning, None, now, outage_id=outage.id
                )
            await self._follow_up(book, outage, now, morning)
        return outage, announcement

    async def tell_overdue(self, now: datetime, admin_chats: list[tuple[str, str]]) -> int:
        """Outages whose promised update time passed without one: the admins are reminded (one-to-one)
        and the subscribed groups told it is still being worked on, once per promise. How many."""
        told = 0
        for outage in await self.store.overdue_outages(now):
            book = self.catalog.by_system(outage.system)
            if book is None:
                continue
            promised = self._clock_time(outage.next_update_at, outage.updated_at)
            notice = await self.announcement(self.render(book, "overdue", outage, (), outage.next_update_at), outage)
            nudge = "\n\n".join(
                self.catalog.templates.render(
                    ui_texts()["outage_overdue_admin"][lang], {"time": promised, "summary": outage.summary}
                )
                for lang in LANGS
            )
            async with self.store.transaction():
                if not await self.store.mark_overdue_told(outage.id, now):
                    continue  # another worker told it, or an update came meanwhile
                await self.send(notice, now)
                await self.store.enqueue(
                    [
                        OutboundMessage(channel, chat, {"text": nudge, "options": [], "lang": "zh"})
                        for channel, chat in admin_chats
                    ],
                    now,
                )
            told += 1
        return told

    async def _follow_up(self, book: Playbook, outage: Outage, now: datetime, morning: datetime) -> None:
        """Each person who talked to the bot, one-to-one, about what the outage affected while it
        lasted hears from it on the next working morning: what to re-check, their own recorded
        invoices, and whether it is all there now (a timer into their conversation)."""
        symptoms = {
            s.id for s in book.symptoms if not outage.components or book.components_of(s.id) & set(outage.components)
        }
        for channel, chat, user, symptom in await self.store.talked_during(outage.started_at, now):
            if symptom not in symptoms:
                continue
            records = await self.store.records(user=f"{channel}:{user}", since=outage.started_at)
            payload = {
                "kind": "followup",
                "summary": outage.summary,
                "resolved": now.astimezone(self.calendar.tz).strftime("%Y-%m-%d %H:%M"),
                "records": [f"{r.number} {r.amount} {r.issued_on}" for r in records][:20],
            }
            key = ConversationKey(channel, chat, user)
            await self.store.add_timer(str(key), f"followup:{outage.id}", morning, payload)

    def _next_working_morning(self, now: datetime, at: time) -> datetime:
        day = now.astimezone(self.calendar.tz).date() + timedelta(days=1)
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, at, self.calendar.tz)
