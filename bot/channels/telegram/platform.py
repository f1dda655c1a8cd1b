"""Telegram as a platform: its settings, rules and how it starts (python-telegram-bot loads only then)."""

from __future__ import annotations

import httpx

from bot.channels.telegram.format import split_payload
from bot.channels.telegram.settings import TelegramSettings
from bot.engine.types import ConversationKey
from bot.ports import ANYONE, ChannelHost, Platform, Report, SupportDesk

CHANNEL = "telegram"


def _connect(settings, host: ChannelHost):
    from bot.channels.telegram.channel import TelegramChannel

    return TelegramChannel(settings, host)


def _admins(settings, key: ConversationKey) -> bool:
    return key.user.lstrip("-").isdigit() and int(key.user) in settings.TELEGRAM_ADMIN_IDS


def _desks(settings) -> list[SupportDesk]:
    chat = settings.SUPPORT_TELEGRAM_CHAT_ID  # a group: any member is an agent
    return [SupportDesk(CHANNEL, str(chat), ANYONE, shared=True)] if chat is not None else []


async def _doctor(settings, client: httpx.AsyncClient | None, report: Report) -> None:
    if not settings.telegram_configured:
        if settings.SUPPORT_TELEGRAM_CHAT_ID is not None:
            report.bad(
                "SUPPORT_TELEGRAM_CHAT_ID is set but Telegram is not configured",
                "set TELEGRAM_BOT_TOKEN, or unset SUPPORT_TELEGRAM_CHAT_ID",
            )
        return
    if client is None:
        return
    url = f"{settings.TELEGRAM_BASE_URL}{settings.TELEGRAM_BOT_TOKEN.get_secret_value()}/getMe"
    try:
        data = (await client.get(url)).json()
    except (httpx.HTTPError, ValueError) as exc:
        report.note(f"Telegram not reachable ({type(exc).__name__}); token not checked")
        return
    if data.get("ok"):
        report.ok(f"Telegram token works: @{data['result'].get('username')}")
    else:
        report.bad(
            f"Telegram rejects the token: {data.get('description')}",
            "copy the token again from @BotFather into TELEGRAM_BOT_TOKEN",
        )


PLATFORM = Platform(
    name=CHANNEL,
    title="Telegram",
    configured=lambda settings: settings.telegram_configured,
    needs="TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_URL + TELEGRAM_WEBHOOK_SECRET for webhook mode)",
    settings=TelegramSettings,
    connect=_connect,
    split=split_payload,
    admins=_admins,
    admin_chats=lambda settings: [str(i) for i in sorted(settings.TELEGRAM_ADMIN_IDS) if i > 0],
    desks=_desks,
    chat_group_kind="telegram_group",
    doctor=_doctor,
)
