"""Telegram, through python-telegram-bot."""

from bot.channels.telegram.platform import PLATFORM

__all__ = ["PLATFORM"]
