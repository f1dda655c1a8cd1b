"""Secrets that travel in URLs (robot webhook keys, access tokens, app secrets, bot tokens in paths),
hidden wherever an error text is kept: logs, and the outbox's last error."""

from __future__ import annotations

import re

URL_SECRETS = re.compile(r"((?:[?&](?:key|access_token|corpsecret)=)|/bot\d+:)[^&\s/\"']+")


def redact_urls(text: str) -> str:
    return URL_SECRETS.sub(r"\1***", text)
