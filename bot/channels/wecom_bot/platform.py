"""The WeCom intelligent bot (智能机器人) as a platform: groups and one-to-one chats, buttons on cards."""

from __future__ import annotations

import asyncio

import websockets

from bot.channels.wecom_bot.format import split_payload
from bot.channels.wecom_bot.inbound import CHANNEL
from bot.channels.wecom_bot.settings import WeComBotSettings
from bot.ports import ChannelHost, Platform, Report

DOCTOR_TIMEOUT_S = 5.0


def _connect(settings, host: ChannelHost):
    from bot.channels.wecom_bot.channel import WeComBotChannel

    return WeComBotChannel(settings, host)


async def _doctor(settings, client, report: Report) -> None:
    """Reach the server, but don't subscribe: that would replace a running bot's connection (and the
    bot, told so, would stop). `outage-bot run` checks the id and secret as it starts."""
    if not settings.wecom_bot_configured or client is None:
        return
    if settings.WECOM_BOT_MODE == "callback":
        report.ok("WeCom intelligent bot: callback mode (WeCom checks the URL when you save it in the admin console)")
        return
    try:
        async with asyncio.timeout(DOCTOR_TIMEOUT_S):
            async with websockets.connect(settings.WECOM_BOT_WS_URL, ping_interval=None):
                pass
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        report.bad(
            f"WeCom intelligent bot: {settings.WECOM_BOT_WS_URL} not reachable ({type(exc).__name__})",
            "allow outbound connections to openws.work.weixin.qq.com:443 (or set WECOM_BOT_WS_URL to your proxy)",
        )
        return
    report.ok(
        f"WeCom intelligent bot: {settings.WECOM_BOT_WS_URL} reachable; `outage-bot run` checks "
        "WECOM_BOT_ID and WECOM_BOT_SECRET as it subscribes"
    )


PLATFORM = Platform(
    name=CHANNEL,
    title="WeCom intelligent bot",
    configured=lambda settings: settings.wecom_bot_configured,
    needs="WECOM_BOT_ID and WECOM_BOT_SECRET (or WECOM_BOT_MODE=callback with WECOM_BOT_TOKEN and WECOM_BOT_AES_KEY)",
    settings=WeComBotSettings,
    connect=_connect,
    split=split_payload,
    admins=lambda settings, key: key.user in settings.WECOM_BOT_ADMIN_USERS,
    admin_chats=lambda settings: sorted(settings.WECOM_BOT_ADMIN_USERS),
    chat_group_kind="wecom_bot_chat",
    doctor=_doctor,
)
