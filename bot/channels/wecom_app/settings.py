"""The WeCom self-built app's settings; they join the bot's Settings (bot/config.py)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


def comma_separated(value: object) -> object:
    if isinstance(value, str):
        return frozenset(p.strip() for p in value.split(",") if p.strip())
    return value


def check_aes_key(value: SecretStr | None) -> SecretStr | None:
    # EncodingAESKey: 43 characters of base64 that decode (with "=") to a 32-byte AES key
    if value is not None:
        key = value.get_secret_value()
        try:
            ok = len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ValueError("must be the 43-character EncodingAESKey from the WeCom admin console")
    return value


def all_or_nothing(settings: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = {name: getattr(settings, name) is not None for name in names}
    if any(given.values()) and not all(given.values()):
        missing = ", ".join(name for name, present in given.items() if not present)
        present = ", ".join(name for name, present in given.items() if present)
        raise ValueError(f"{missing}: required for {what}, since {present} is set")


class WeComAppSettings(BaseModel):
    WECOM_CORP_ID: str | None = None
    WECOM_AGENT_ID: int | None = None
    WECOM_SECRET: SecretStr | None = None
    WECOM_TOKEN: SecretStr | None = None
    WECOM_AES_KEY: SecretStr | None = None
    WECOM_API_BASE_URL: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/", pattern=r"^https?://")
    WECOM_ADMIN_USERS: Annotated[frozenset[str], NoDecode] = frozenset()
    WECOM_MAX_CLOCK_SKEW_S: int = Field(default=300, ge=0)
    SUPPORT_WECOM_USERS: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("WECOM_ADMIN_USERS", "SUPPORT_WECOM_USERS", mode="before")
    @classmethod
    def _app_users(cls, value: object) -> object:
        return comma_separated(value)

    @field_validator("WECOM_AES_KEY")
    @classmethod
    def _app_aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        return check_aes_key(value)

    @model_validator(mode="after")
    def _wecom_all_or_nothing(self):
        all_or_nothing(self, WECOM_REQUIRED, "WeCom")
        return self

    @property
    def wecom_configured(self) -> bool:
        return self.WECOM_CORP_ID is not None
