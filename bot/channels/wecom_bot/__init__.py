"""The WeCom intelligent bot (企业微信智能机器人): long connection or callbacks."""

from bot.channels.wecom_bot.platform import PLATFORM

__all__ = ["PLATFORM"]
