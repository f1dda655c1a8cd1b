"""Handover to a person: the case summary goes to support, an agent claims it, and messages are
relayed both ways until the agent closes it. All of it is rows, so it survives restarts.

Support is whatever desks the platforms' settings name: a shared chat of agents (any member is an
agent; a reply to a case message answers that case) and/or agents in their own one-to-one chats
(plain text answers the one case they hold). Everywhere /reply N, /claim N, /close N and /cases work.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.engine.intents import intent_of
from bot.engine.texts import ui_texts
from bot.engine.types import ConversationKey, Inbound
from bot.invoices.entries import describe
from bot.invoices.model import Invoice
from bot.ports import SupportDesk
from bot.store.base import Case, OutboundMessage

AGENT_COMMANDS = re.compile(r"^/(claim|reply|close|cases)(?:@\S+)?(?:\s+(.*))?$", re.S)


class Handover:
    def __init__(self, app):
        self.app = app
        self.settings = app.settings
        self.lang = app.settings.OUTAGE_BOT_LANG  # the support side's language

    @property
    def desks(self) -> list[SupportDesk]:
        return self.app.platforms.desks

    @property
    def available(self) -> bool:
        return bool(self.desks)

    def t(self, key: str, lang: str | None = None, **variables) -> str:
        lang = lang or self.lang
        source = ui_texts()[key]
        return self.app.catalog.templates.render(source.get(lang) or source["zh"], {"lang": lang, **variables})

    # ---- who is who ---------------------------------------------------------------------------

    def _desk_of(self, inbound: Inbound) -> SupportDesk | None:
        key = inbound.key
        for desk in self.desks:
            if desk.channel == key.channel and (
                desk.chat == key.chat if desk.shared else desk.chat == key.chat == key.user
            ):
                return desk
        return None

    def is_agent(self, inbound: Inbound) -> bool:
        return self._desk_of(inbound) is not None

    def _to_support(
        self, text: str, case_id: int, claim_button: bool = False, relay: bool = False, priority: int = 0
    ) -> list[OutboundMessage]:
        """A message for every support desk. A relay of the user's words is tagged so that the sender
        merges a case's waiting relays."""
        options = [{"key": f"claim:{case_id}", "label": self.t("label_claim", id=case_id)}] if claim_button else []
        payload = {"text": text, "options": options, "lang": self.lang, "case_id": case_id}
        if relay:
            payload["merge"] = f"case:{case_id}"
        return [
            OutboundMessage(desk.channel, desk.chat, payload | {"user": desk.user}, priority=priority)
            for desk in self.desks
        ]

    def _to_agent(self, case: Case, text: str) -> list[OutboundMessage]:
        channel, _, user = (case.agent or "").partition(":")
        payload = {"text": text, "options": [], "lang": self.lang, "case_id": case.id, "merge": f"case:{case.id}"}
        shared = next((d for d in self.desks if d.channel == channel and d.shared), None)
        if shared is not None:  # the agent's team chat, where they claimed it
            return [OutboundMessage(channel, shared.chat, payload | {"user": shared.user})]
        return [OutboundMessage(channel, user, payload | {"user": user})]

    async def _relays_waiting(self, case: Case) -> bool:
        """Some of this user's earlier messages are still waiting for the support chat's turn."""
        if not self.desks:
            return False
        desk = self.desks[0]
        return bool(await self.app.store.unsent_tagged(desk.channel, desk.chat, f"case:{case.id}", 0, 1))

    async def _to_user(self, case: Case, key: str, **variables) -> OutboundMessage:
        conversation = ConversationKey.parse(case.conversation)
        state = await self.app.store.load(conversation)
        lang = (state.lang if state and state.lang else None) or self.lang
        payload = {"text": self.t(key, lang, **variables), "options": [], "lang": lang, "user": conversation.user}
        return OutboundMessage(conversation.channel, conversation.chat, payload, case.conversation)

    # ---- the user's side ----------------------------------------------------------------------

    async def active_case(self, key: ConversationKey) -> Case | None:
        return await self.app.store.active_case(str(key)) if self.available else None

    async def open(self, key: ConversationKey, summary: str, now: datetime) -> list[OutboundMessage]:
        case = await self.app.store.open_case(str(key), key.channel, summary, now)
        if case is None:
            return []
        # ahead of every relay waiting for the support chat: a new case is never stuck behind chatter
        announce = self.t("case_announce", id=case.id, text=summary)
        return self._to_support(announce, case.id, claim_button=True, priority=1)

    async def from_user(self, case: Case, inbound: Inbound, lang: str, now: datetime) -> list[OutboundMessage] | None:
        """A message from a user whose case is open: relayed, and acknowledged while nobody has
        taken it. /cancel (or "算了") leaves the queue; /start and /restart leave it and start over
        (None: the engine answers); /help says what is going on."""
        text = (inbound.text or "").strip() or self._invoice_sent(inbound, now)
        answer = self._reply_here(inbound, lang, str(inbound.key))
        command = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text.startswith("/") else None
        wants = intent_of(text) if command is None and inbound.choice is None else None
        if command in ("/cancel", "/start", "/restart", "/menu") or wants in ("cancel", "restart"):
            await self.app.store.close_case(case.id, now)
            notice = self._to_support(self.t("case_cancelled_agents", id=case.id), case.id)
            if command in ("/start", "/restart", "/menu") or wants == "restart":
                await self.app.store.enqueue(notice, now)
                return None
            return [*notice, answer(self.t("handover_cancelled", lang))]
        if command == "/help" or wants == "help":
            return [answer(self.t("handover_waiting_help", lang, status=case.status))]
        message = self.t("case_from_user", id=case.id, text=text or inbound.choice or "")
        if case.status == "claimed":
            return self._to_agent(case, message)
        ack = "handover_waiting_merged" if await self._relays_waiting(case) else "handover_waiting_ack"
        return [*self._to_support(message, case.id, relay=True), answer(self.t(ack, lang))]

    def _invoice_sent(self, inbound: Inbound, now: datetime) -> str:
        """A photo or file the user sent, as the agents read it: what was read from it."""
        invoice = (inbound.payload or {}).get("invoice")
        if not isinstance(invoice, dict):
            return ""
        today = now.astimezone(self.app.settings.tz).date()
        return describe(Invoice.from_dict(invoice), today, self.app.settings.OUTAGE_BOT_LANG)

    # ---- the agent's side ---------------------------------------------------------------------

    async def from_agent(self, inbound: Inbound) -> list[OutboundMessage] | None:
        """What an agent's message does, or None when it is not support work (an agent in their own
        chat may also just use the bot)."""
        agent = f"{inbound.key.channel}:{inbound.key.user}"
        name = inbound.user_name or inbound.key.user
        reply_here = self._reply_here(inbound)
        if inbound.choice and inbound.choice.startswith("claim:") and inbound.choice[6:].isdigit():
            return await self._claim(int(inbound.choice[6:]), agent, name, reply_here)
        text = (inbound.text or "").strip()
        command = AGENT_COMMANDS.match(text)
        if command:
            verb, rest = command.group(1), (command.group(2) or "").strip()
            number, _, body = rest.partition(" ")
            if verb == "cases":
                return [reply_here(await self._listing())]
            if not number.isdigit() or (verb == "reply" and not body.strip()):
                return [reply_here(self.t("case_usage"))]
            if verb == "claim":
                return await self._claim(int(number), agent, name, reply_here)
            if verb == "reply":
                return await self._reply(int(number), agent, name, body.strip(), reply_here)
            return await self._close(int(number), agent, reply_here)
        desk = self._desk_of(inbound)
        if desk is not None and desk.shared and inbound.reply_to:
            case_id = await self.app.store.case_for_message(desk.channel, inbound.key.chat, inbound.reply_to)
            if case_id is not None and text:
                return await self._reply(case_id, agent, name, text, reply_here)
        if desk is not None and not desk.shared:
            held = await self.app.store.cases_of_agent(agent)
            if len(held) == 1 and text:
                return await self._reply(held[0].id, agent, name, text, reply_here)
            return None  # not support work: the bot serves them like anyone else
        return []  # chatter among agents in the support chat

    def _reply_here(self, inbound: Inbound, lang: str | None = None, conversation: str | None = None):
        """A function answering whoever sent `inbound`, in the same chat."""

        def reply(text: str) -> OutboundMessage:
            payload = {
                "text": text,
                "options": [],
                "lang": lang or self.lang,
                "user": inbound.key.user,
                "in_reply_to": inbound.ref,
            }
            return OutboundMessage(inbound.key.channel, inbound.key.chat, payload, conversation)

        return reply

    async def _listing(self) -> str:
        cases = await self.app.store.open_cases()
        if not cases:
            return self.t("case_none")
        lines = [f"#{c.id} {c.status}" + (f" · {c.agent_name}" if c.agent_name else "") for c in cases]
        return self.t("case_list", text="\n".join(lines))

    async def _claim(self, case_id: int, agent: str, name: str, reply_here) -> list[OutboundMessage]:
        store, now = self.app.store, self.app.clock.now()
        case = await store.case(case_id)
        if case is None or case.status == "closed":
            return [reply_here(self.t("case_not_found", id=case_id))]
        if not await store.claim_case(case_id, agent, name, now):  # someone was quicker
            winner = await store.case(case_id)
            return [reply_here(self.t("case_taken_already", id=case_id, name=winner.agent_name))]
        case = await store.case(case_id)
        return [
            *self._to_support(self.t("case_claimed_agents", id=case_id, name=name), case_id),
            await self._to_user(case, "case_claimed_user", name=name),
        ]

    async def _reply(self, case_id: int, agent: str, name: str, text: str, reply_here) -> list[OutboundMessage]:
        case = await self.app.store.case(case_id)
        if case is None or case.status == "closed":
            return [reply_here(self.t("case_not_found", id=case_id))]
        if case.agent != agent:
            return [reply_here(self.t("case_not_yours", id=case_id))]
        return [await self._to_user(case, "case_to_user", name=name, text=text)]

    async def _close(self, case_id: int, agent: str, reply_here) -> list[OutboundMessage]:
        store = self.app.store
        case = await store.case(case_id)
        if case is None or case.status == "closed":
            return [reply_here(self.t("case_not_found", id=case_id))]
        if case.status == "claimed" and case.agent != agent:
            return [reply_here(self.t("case_not_yours", id=case_id))]
        await store.close_case(case_id, self.app.clock.now())
        return [
            *self._to_support(self.t("case_closed_agents", id=case_id), case_id),
            await self._to_user(case, "case_closed_user"),
        ]

    # ---- nobody came --------------------------------------------------------------------------

    async def reannounce(self) -> int:
        """Post unclaimed cases again once they have waited HANDOVER_REANNOUNCE_MINUTES."""
        if not self.available:
            return 0
        now = self.app.clock.now()
        wait = timedelta(minutes=self.settings.HANDOVER_REANNOUNCE_MINUTES)
        cases = await self.app.store.unclaimed_before(now - wait)
        for case in cases:
            minutes = int((now - case.created_at).total_seconds() // 60)
            text = (
                self.t("case_announce", id=case.id, text=case.summary)
                + "\n"
                + self.t("case_reannounce", minutes=minutes)
            )
            async with self.app.store.transaction():
                await self.app.store.enqueue(self._to_support(text, case.id, claim_button=True), now)
                await self.app.store.mark_announced(case.id, now)
        return len(cases)
