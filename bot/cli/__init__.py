"""The `outage-bot` verbs."""

from bot.cli.main import main

__all__ = ["main"]
