"""The WeCom self-built app (自建应用) as a platform: one-to-one callbacks, app messages, and the
groups it speaks to on its own (group robots, app chats)."""

from __future__ import annotations

import re

import httpx

from bot.channels.wecom_app.format import split_payload
from bot.channels.wecom_app.settings import WeComAppSettings
from bot.ports import ChannelHost, GroupKind, Platform, Report, SupportDesk

CHANNEL = "wecom"  # the name its conversations and outbox rows have carried from the start


def _connect(settings, host: ChannelHost):
    from bot.channels.wecom_app.channel import WeComChannel

    return WeComChannel(settings, host)


def _desks(settings) -> list[SupportDesk]:
    return [SupportDesk(CHANNEL, user, user, shared=False) for user in sorted(settings.SUPPORT_WECOM_USERS)]


async def _doctor(settings, client: httpx.AsyncClient | None, report: Report) -> None:
    if not settings.wecom_configured:
        if settings.SUPPORT_WECOM_USERS:
            report.bad("SUPPORT_WECOM_USERS is set but WeCom is not configured", "set the five WECOM_ settings")
        return
    if client is None:
        return
    base = settings.WECOM_API_BASE_URL.rstrip("/") + "/"
    params = {"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_SECRET.get_secret_value()}
    try:
        data = (await client.get(base + "gettoken", params=params)).json()
    except (httpx.HTTPError, ValueError) as exc:
        report.note(f"WeCom not reachable ({type(exc).__name__}); credentials not checked")
        return
    if data.get("errcode", 0) == 0:
        report.ok("WeCom corp id and app secret work (an access token was issued)")
    else:
        report.bad(
            f"WeCom gettoken fails: errcode {data.get('errcode')} {data.get('errmsg')}",
            "check WECOM_CORP_ID and WECOM_SECRET in the admin console (the app's Secret, not the corp's)",
        )


PLATFORM = Platform(
    name=CHANNEL,
    title="WeCom app",
    configured=lambda settings: settings.wecom_configured,
    needs="WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN and WECOM_AES_KEY",
    settings=WeComAppSettings,
    connect=_connect,
    split=split_payload,
    admins=lambda settings, key: key.user in settings.WECOM_ADMIN_USERS,
    admin_chats=lambda settings: sorted(settings.WECOM_ADMIN_USERS),
    desks=_desks,
    buttons=True,
    presses_anywhere=False,  # its options are numbered lines of text
    reminds_in_chat=False,  # its callbacks are one-to-one: a reminder names the group it is for
    group_kinds=(
        GroupKind(
            "wecom_robot",
            "--wecom-robot",
            "KEY",
            "the key of the group robot's webhook URL",
            re.compile(r"^[A-Za-z0-9-]{8,64}$"),
            "--wecom-robot takes the key= part of the robot's webhook URL (letters, digits and -)",
            secret=True,
        ),
        GroupKind(
            "wecom_appchat",
            "--wecom-appchat",
            "CHATID",
            "an app group chat (appchat) id",
            re.compile(r"^\S{1,64}$"),
            "--wecom-appchat takes an app chat id (up to 64 characters, no spaces)",
        ),
    ),
    doctor=_doctor,
)
