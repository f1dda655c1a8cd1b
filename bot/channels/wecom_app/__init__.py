"""The WeCom self-built app (企业微信自建应用)."""

from bot.channels.wecom_app.platform import PLATFORM

__all__ = ["PLATFORM"]
