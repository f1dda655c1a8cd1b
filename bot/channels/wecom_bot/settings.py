"""The WeCom intelligent bot's settings; they join the bot's Settings (bot/config.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.channels.wecom_app.settings import all_or_nothing, check_aes_key, comma_separated

DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


class WeComBotSettings(BaseModel):
    WECOM_BOT_ID: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,128}$")
    WECOM_BOT_SECRET: SecretStr | None = None
    WECOM_BOT_MODE: Literal["ws", "callback"] = "ws"
    WECOM_BOT_WS_URL: str = Field(default=DEFAULT_WS_URL, pattern=r"^wss?://")
    WECOM_BOT_TOKEN: SecretStr | None = None
    WECOM_BOT_AES_KEY: SecretStr | None = None
    WECOM_BOT_ADMIN_USERS: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("WECOM_BOT_ADMIN_USERS", mode="before")
    @classmethod
    def _bot_users(cls, value: object) -> object:
        return comma_separated(value)

    @field_validator("WECOM_BOT_AES_KEY")
    @classmethod
    def _bot_aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        return check_aes_key(value)

    @model_validator(mode="after")
    def _bot_mode_needs(self):
        if self.WECOM_BOT_MODE == "ws":
            all_or_nothing(self, ("WECOM_BOT_ID", "WECOM_BOT_SECRET"), "the WeCom intelligent bot")
        else:
            all_or_nothing(self, ("WECOM_BOT_TOKEN", "WECOM_BOT_AES_KEY"), "the WeCom intelligent bot's callbacks")
            if self.WECOM_BOT_TOKEN is None:
                raise ValueError("WECOM_BOT_TOKEN, WECOM_BOT_AES_KEY: required when WECOM_BOT_MODE is callback")
        return self

    @property
    def wecom_bot_configured(self) -> bool:
        return self.WECOM_BOT_SECRET is not None if self.WECOM_BOT_MODE == "ws" else self.WECOM_BOT_TOKEN is not None
