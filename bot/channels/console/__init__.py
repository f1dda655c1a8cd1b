"""The console: a chat in the terminal (`outage-bot chat`)."""

from bot.ports import Platform

PLATFORM = Platform(
    name="console",
    title="console",
    configured=lambda settings: False,  # `outage-bot chat`, never part of `run`
    admins=lambda settings, key: True,  # whoever runs the CLI on the bot's machine is trusted
    buttons=False,  # options are numbered lines to type
)
