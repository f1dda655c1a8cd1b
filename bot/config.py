"""Settings from the environment and a `.env` file in the working directory.

A wrong value stops the program with a message that names the variable, what is wrong, and the
value given, e.g. `MATCH_THRESHOLD: must be at most 1 (got '3')`.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_NAME = "outage-bot"


def default_db_path() -> Path:
    """~/.local/share/outage-bot/outage-bot.db (XDG_DATA_HOME is honoured)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "outage-bot.db"


class SettingsError(Exception):
    """One or more settings are wrong; the message names each variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True, case_sensitive=True
    )

    OUTAGE_BOT_DB: Path = Field(default_factory=default_db_path)
    PLAYBOOKS_DIR: Path | None = None
    CONTACTS_FILE: Path | None = None
    MATCH_THRESHOLD: float = Field(default=0.3, ge=0.0, le=1.0)
    CONVERSATION_IDLE_MINUTES: int = Field(default=60, ge=0)
    OUTAGE_BOT_LANG: Literal["zh", "en"] = "zh"
    OUTAGE_BOT_TZ: str = "Asia/Shanghai"
    WORKING_HOURS: str = "09:00-18:00"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    HTTP_HOST: str = "0.0.0.0"
    HTTP_PORT: int = Field(default=8080, ge=1, le=65535)
    HTTP_HEADER_TIMEOUT_S: float = Field(default=10.0, gt=0, le=300)
    HTTP_BODY_TIMEOUT_S: float = Field(default=30.0, gt=0, le=600)
    HTTP_MAX_CONNECTIONS: int = Field(default=512, ge=1, le=100_000)

    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_BASE_URL: str = "https://api.telegram.org/bot"
    TELEGRAM_WEBHOOK_URL: str | None = Field(default=None, pattern=r"^https?://")
    TELEGRAM_WEBHOOK_SECRET: SecretStr | None = None
    TELEGRAM_ADMIN_IDS: Annotated[frozenset[int], NoDecode] = frozenset()

    WECOM_CORP_ID: str | None = None
    WECOM_AGENT_ID: int | None = None
    WECOM_SECRET: SecretStr | None = None
    WECOM_TOKEN: SecretStr | None = None
    WECOM_AES_KEY: SecretStr | None = None
    WECOM_API_BASE_URL: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/", pattern=r"^https?://")
    WECOM_ADMIN_USERS: Annotated[frozenset[str], NoDecode] = frozenset()
    WECOM_MAX_CLOCK_SKEW_S: int = Field(default=300, ge=0)

    SUPPORT_TELEGRAM_CHAT_ID: int | None = None
    SUPPORT_WECOM_USERS: Annotated[frozenset[str], NoDecode] = frozenset()
    HANDOVER_REANNOUNCE_MINUTES: int = Field(default=15, ge=1)
    RETENTION_DAYS_QUEUE: int = Field(default=7, ge=1)
    RETENTION_DAYS_LOG: int = Field(default=90, ge=1)
    LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("OUTAGE_BOT_DB", mode="before")
    @classmethod
    def _a_file_not_a_url(cls, value: object) -> object:
        if isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
            raise ValueError("must be the path of a SQLite file; database URLs are not supported")
        return value

    @field_validator("OUTAGE_BOT_TZ")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from None
        return value

    @field_validator("WORKING_HOURS")
    @classmethod
    def _hours(cls, value: str) -> str:
        from bot.runtime.workcal import parse_hours

        parse_hours(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.OUTAGE_BOT_TZ)

    @field_validator("WECOM_ADMIN_USERS", "SUPPORT_WECOM_USERS", mode="before")
    @classmethod
    def _comma_separated_users(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("WECOM_AES_KEY")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
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

    @model_validator(mode="after")
    def _wecom_all_or_nothing(self) -> Settings:
        given = {name: getattr(self, name) is not None for name in WECOM_REQUIRED}
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(name for name, present in given.items() if not present)
            raise ValueError(f"{missing}: required for WeCom, since {_present(given)} is set")
        return self

    @property
    def wecom_configured(self) -> bool:
        return self.WECOM_CORP_ID is not None

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
    def _webhook_needs_secret(self) -> Settings:
        if self.TELEGRAM_WEBHOOK_URL and self.TELEGRAM_WEBHOOK_SECRET is None:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set, so that nobody else "
                "can post updates to the webhook"
            )
        return self

    @property
    def telegram_configured(self) -> bool:
        return self.TELEGRAM_BOT_TOKEN is not None


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


def _present(given: dict[str, bool]) -> str:
    return ", ".join(name for name, present in given.items() if present)


_CONSTRAINTS = {
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "float_parsing": "must be a number",
    "int_parsing": "must be a whole number",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must match {pattern}",
}


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env; `overrides` (e.g. from command-line flags) win. Raises SettingsError."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            template = _CONSTRAINTS.get(err["type"])
            reason = template.format(**(err.get("ctx") or {})) if template else err["msg"]
            reason = reason.removeprefix("Value error, ")
            if not err["loc"]:  # a rule across settings names its variables itself
                lines.append(reason)
                continue
            value = err.get("input")
            secret = any(word in str(err["loc"][0]) for word in ("TOKEN", "SECRET", "AES_KEY"))
            shown = "(hidden)" if secret else repr(value)
            lines.append(f"{err['loc'][0]}: {reason} (got {shown})")
        raise SettingsError("\n".join(lines)) from None
