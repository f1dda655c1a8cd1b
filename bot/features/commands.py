"""Chat commands that act on the bot's operation rather than on a diagnosis:

    /outage start SUMMARY · /outage update TEXT · /outage resolve · /outage status   (admins)
    /subscribe [NAME] · /unsubscribe                             (admins, in a group chat)
    /remind … · /remind cancel ID                                (admins; see remind_parse)
    /reminders · /records                                         (anyone: this chat's, their own)

They read and write the database, so they live here, beside the pure engine; the dispatcher runs
them inside the same transaction that records the reply and marks the message done.
"""

from __future__ import annotations

from bot.engine.subscribe import SubscribeError, described, parse_subscription, titles
from bot.engine.texts import ui_texts
from bot.engine.types import Inbound
from bot.features.crowd import declare
from bot.features.maintenance import MaintenanceWindows
from bot.features.outages import OutageError, Outages, parse_moment, pick_system, split_next_update
from bot.features.remind_parse import CancelSpec, RemindError, parse_remind
from bot.store.base import Group, OutageConflict, Subscription

COMMANDS = frozenset({"outage", "subscribe", "unsubscribe", "subscriptions", "remind", "reminders", "records"})
DECLARE = "alert_declare:"  # the key of the button under a crowd alert
PREVIEW = 60  # characters of a reminder's text in /reminders


def command_of(inbound: Inbound) -> tuple[str, str] | None:
    text = (inbound.text or "").strip()
    if inbound.choice is not None or not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name, rest.strip()) if name in COMMANDS else None


def _every(seconds: float, lang: str) -> str:
    minutes = round(seconds / 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} 小时" if lang == "zh" else f"{minutes // 60}h"
    return f"{minutes} 分钟" if lang == "zh" else f"{minutes}m"


class Operations:
    def __init__(self, app):
        self.app = app
        self.outages = Outages(app.store, app.catalog, app.calendar, app.settings.PUBLIC_BASE_URL)

    def handles(self, inbound: Inbound) -> bool:
        if (inbound.choice or "").startswith(DECLARE):
            return True
        command = command_of(inbound)
        # "/subscribe" alone in one's own chat: the conversation asks which parts, and where
        asks = command == ("subscribe", "") and inbound.key.chat == inbound.key.user
        return command is not None and not asks

    def t(self, key: str, lang: str, **variables) -> str:
        source = ui_texts()[key]
        return self.app.catalog.templates.render(source.get(lang) or source["zh"], {"lang": lang, **variables})

    async def handle(self, inbound: Inbound, lang: str) -> list[str]:
        if (inbound.choice or "").startswith(DECLARE):  # the button under a crowd alert
            return await self._outage(inbound, f"declare {inbound.choice.removeprefix(DECLARE)}", lang)
        name, args = command_of(inbound)
        handler = getattr(self, f"_{name}")
        return await handler(inbound, args, lang)

    def _in_group(self, inbound: Inbound) -> bool:
        """A group chat of a platform that can register one (a one-to-one chat's id is its user's)."""
        key = inbound.key
        return key.chat != key.user and self.app.platforms.chat_group_kind(key.channel) is not None

    # ---- outages ------------------------------------------------------------------------------

    async def _outage(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        action, _, text = args.partition(" ")
        action, text = action.lower(), text.strip()
        now = self.app.clock.now()
        try:
            book = pick_system(self.app.catalog, None)
        except OutageError as exc:  # several systems: chat can't say which; the CLI's --system can
            return [str(exc).replace("name one with --system", "use `outage-bot outage … --system ID`")]
        try:
            if action == "status":
                open_ = await self.app.store.open_outages()
                listing = "; ".join(f"{o.system}: {o.summary}" for o in open_)
                return [self.t("outage_status", lang, text=listing) if open_ else self.t("outage_none", lang)]
            if action not in ("start", "update", "resolve", "schedule", "declare") or (
                action != "resolve" and not text
            ):
                return [self.t("outage_usage", lang)]
            if not self.app.is_admin(inbound.key):
                return [self.t("admins_only", lang)]
            if action == "schedule":
                return await self._schedule(book, text, now, lang)
            if action == "declare":
                if not text.isdigit():
                    return [self.t("outage_usage", lang)]
                try:
                    outage, announcement = await declare(self.outages, int(text), now)
                except OutageError:
                    return [self.t("alert_gone", lang, id=text)]
                return [self.t("outage_started", lang, id=outage.id, count=len(announcement.groups))]
            text, promised = split_next_update(text)  # "… 下次更新 15:30"
            next_update = parse_moment(promised, now, self.app.settings.tz) if promised else None
            if action == "start":
                outage, announcement = await self.outages.start(book, text, None, None, None, now, False, next_update)
                return [self.t("outage_started", lang, id=outage.id, count=len(announcement.groups))]
            if action == "update":
                _, announcement = await self.outages.update(book, text, None, now, False, next_update)
                return [self.t("outage_updated", lang, count=len(announcement.groups))]
            _, announcement = await self.outages.resolve(book, now)
            return [self.t("outage_resolved", lang, count=len(announcement.groups))]
        except OutageConflict as exc:
            return [self.t("outage_exists", lang, text=str(exc))]
        except OutageError:
            return [self.t("outage_none", lang)]

    async def _schedule(self, book, text: str, now, lang: str) -> list[str]:
        """/outage schedule FROM UNTIL SUMMARY (times as HH:MM or ISO 8601)."""
        parts = text.split(maxsplit=2)
        if len(parts) < 3:
            return [self.t("outage_usage", lang)]
        tz = self.app.settings.tz
        try:
            starts = parse_moment(parts[0], now, tz, "FROM")
            ends = parse_moment(parts[1], starts, tz, "UNTIL")
            window, announcement = await MaintenanceWindows(self.outages).schedule(
                book, parts[2], (), None, starts, ends, False, now
            )
        except OutageError as exc:
            return [self.t("outage_schedule_refused", lang, text=str(exc))]
        count = len(announcement.groups) + len(announcement.people)
        return [self.t("outage_scheduled_ok", lang, id=window.id, count=count)]

    # ---- subscriptions (a group chat registers itself; robots and app chats come from the CLI) --

    async def _subscribe(self, inbound: Inbound, args: str, lang: str, subscribe: bool = True) -> list[str]:
        if not self._in_group(inbound):
            return await self._personal(inbound, args, lang, subscribe)
        if not self.app.is_admin(inbound.key):
            return [self.t("admins_only", lang)]
        store = self.app.store
        channel, chat = inbound.key.channel, inbound.key.chat
        group = await store.group_at(channel, chat)
        if group is None:
            name = args[:64].strip() or (inbound.chat_title or "").strip() or f"{channel}{chat}"
            if await store.group(name) is not None:
                name = f"{name} ({chat})"
            group = Group(name, channel, self.app.platforms.chat_group_kind(channel), chat, subscribe)
            await store.add_group(group, self.app.clock.now())
        else:
            await store.set_subscribed(group.name, subscribe)
        return [self.t("subscribed" if subscribe else "unsubscribed", lang)]

    async def _unsubscribe(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        return await self._subscribe(inbound, args, lang, subscribe=False)

    async def _personal(self, inbound: Inbound, args: str, lang: str, subscribe: bool) -> list[str]:
        """Anyone, in their own chat: outage notices for the components and province they name."""
        key, store = inbound.key, self.app.store
        user = f"{key.channel}:{key.user}"
        if not subscribe:
            gone = await store.unsubscribe_person(user)
            return [self.t("personal_unsubscribed" if gone else "personal_none", lang)]
        try:
            book = pick_system(self.app.catalog, None)
        except OutageError as exc:  # several systems: which one can't be said here yet
            return [str(exc)]
        try:  # "/subscribe" alone is a conversation (the engine's); here the words come with it
            components, region = parse_subscription(book, args)
        except SubscribeError as exc:
            listing = titles(book, None, lang)
            return [self.t("personal_subscribe_unknown", lang, name=str(exc)[:40], text=listing)]
        await store.subscribe_person(
            Subscription(user, key.channel, key.chat, components, region), self.app.clock.now()
        )
        return [self.t("personal_subscribed", lang, text=described(book, components, region, lang))]

    async def _subscriptions(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        key = inbound.key
        mine = await self.app.store.subscriptions(f"{key.channel}:{key.user}")
        if not mine:
            return [self.t("personal_none", lang)]
        (subscription,) = mine
        text = described(self.app.catalog.playbooks[0], subscription.components, subscription.region, lang)
        return [self.t("personal_listing", lang, text=text)]

    # ---- reminders ----------------------------------------------------------------------------

    async def _target(self, inbound: Inbound, group_name: str | None, lang: str) -> tuple[str, str] | str:
        """(channel, outbox chat) for a reminder, or a reply explaining why there is none."""
        if group_name:
            group = await self.app.store.group(group_name)
            if group is None:
                return self.t("no_such_group", lang, name=group_name)
            return group.channel, group.chat
        if not self.app.platforms.reminds_in_chat(inbound.key.channel):  # e.g. a one-to-one-only app
            return self.t("remind_needs_group", lang)
        return inbound.key.channel, inbound.key.chat

    async def _remind(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        if not self.app.is_admin(inbound.key):
            return [self.t("admins_only", lang)]
        now, tz = self.app.clock.now(), self.app.settings.tz
        try:
            spec = parse_remind(args, now, tz)
        except RemindError as exc:
            return [self.t("remind_usage", lang, usage=str(exc))]
        target = await self._target(inbound, spec.group, lang)
        if isinstance(target, str):
            return [target]
        channel, chat = target
        if isinstance(spec, CancelSpec):
            done = await self.app.store.cancel_reminder(spec.reminder_id, now, chat=chat)
            return [self.t("remind_cancelled" if done else "remind_not_found", lang, id=spec.reminder_id)]
        every = spec.every.total_seconds() if spec.every else None
        reminder_id = await self.app.store.add_reminder(
            "adhoc", channel, chat, spec.text, spec.first_at, every, now, created_by=str(inbound.key)
        )
        when = spec.first_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S").removesuffix(":00")
        return [self.t("remind_set", lang, id=reminder_id, when=when, every=_every(every, lang) if every else "")]

    async def _reminders(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        store, tz = self.app.store, self.app.settings.tz
        if not self.app.platforms.reminds_in_chat(inbound.key.channel):  # its reminders are for named groups
            if not self.app.is_admin(inbound.key):
                return [self.t("admins_only", lang)]
            reminders = await store.reminders(channel=inbound.key.channel)
        else:
            reminders = await store.reminders(channel=inbound.key.channel, chat=inbound.key.chat)
        if not reminders:
            return [self.t("reminders_none", lang)]
        lines = []
        for r in reminders:
            every = f" · {_every(r.every_s, lang)}" if r.every_s else ""
            where = f" · {r.chat.removeprefix('group:')}" if r.chat.startswith("group:") else ""
            first_line = r.text.splitlines()[0][:PREVIEW]
            lines.append(f"#{r.id} {r.next_at.astimezone(tz):%m-%d %H:%M}{every}{where} · {first_line}")
        return [self.t("reminders_list", lang, text="\n".join(lines))]

    # ---- manual records -----------------------------------------------------------------------

    async def _records(self, inbound: Inbound, args: str, lang: str) -> list[str]:
        records = await self.app.store.records(user=f"{inbound.key.channel}:{inbound.key.user}")
        if not records:
            return [self.t("records_none", lang)]
        lines = [f"{r.number}　{r.amount}　{r.issued_on}　{r.counterparty}" for r in records[-30:]]
        return [self.t("records_list", lang, count=len(records), text="\n".join(lines))]
