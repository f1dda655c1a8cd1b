"""Telegram's settings; they join the bot's Settings (bot/config.py)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(BaseModel):
    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_BASE_URL: str = "https://api.telegram.org/bot"
    TELEGRAM_WEBHOOK_URL: str | None = Field(default=None, pattern=r"^https?://")
    TELEGRAM_WEBHOOK_SECRET: SecretStr | None = None
    TELEGRAM_ADMIN_IDS: Annotated[frozenset[int], NoDecode] = frozenset()
    SUPPORT_TELEGRAM_CHAT_ID: int | None = None

    @field_validator("TELEGRAM_ADMIN_IDS", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("TELEGRAM_WEBHOOK_SECRET")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self):
        if self.TELEGRAM_WEBHOOK_URL and self.TELEGRAM_WEBHOOK_SECRET is None:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set, so that nobody else "
                "can post updates to the webhook"
            )
        return self

    @property
    def telegram_configured(self) -> bool:
        return self.TELEGRAM_BOT_TOKEN is not None
