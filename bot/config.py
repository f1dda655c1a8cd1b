"""Settings from the environment and a `.env` file in the working directory.

A wrong value stops the program with a message that names the variable, what is wrong, and the
value given, e.g. `MATCH_THRESHOLD: must be at most 1 (got '3')`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.channels.registry import SETTINGS_MODELS

APP_NAME = "outage-bot"


def default_db_path() -> Path:
    """~/.local/share/outage-bot/outage-bot.db (XDG_DATA_HOME is honoured)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "outage-bot.db"


class SettingsError(Exception):
    """One or more settings are wrong; the message names each variable."""


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True, case_sensitive=True
    )

    OUTAGE_BOT_DB: Path | str = Field(default_factory=default_db_path)  # a SQLite file, or a postgresql:// URL
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

    HANDOVER_REANNOUNCE_MINUTES: int = Field(default=15, ge=1)
    RETENTION_DAYS_QUEUE: int = Field(default=7, ge=1)
    RETENTION_DAYS_LOG: int = Field(default=90, ge=1)
    LOG_FORMAT: Literal["text", "json"] = "text"
    # where people reach this bot's HTTP server (through the proxy): notices link to its /status page
    PUBLIC_BASE_URL: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")
    # outages noticed from the crowd: at least this many people describing one symptom within the
    # window, and this many times as many as usual, alert the admins
    CROWD_ALERT_MIN_REPORTS: int = Field(default=5, ge=2, le=10_000)
    CROWD_ALERT_WINDOW_MINUTES: int = Field(default=10, ge=1, le=24 * 60)
    CROWD_ALERT_FACTOR: float = Field(default=3.0, ge=1.0, le=100.0)
    CROWD_ALERT_SIGNIFICANCE: float = Field(default=1e-4, gt=0, lt=1)  # how rare on a normal day
    INVOICE_READ_TIMEOUT_S: float = Field(default=10.0, gt=0, le=120)  # per photo or file, in a worker process
    INVOICE_READ_PARALLEL: int = Field(default=2, ge=1, le=32)  # files read at once (worker processes)

    @field_validator("OUTAGE_BOT_DB", mode="before")
    @classmethod
    def _a_file_or_postgres(cls, value: object) -> object:
        if isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
            if not value.startswith(("postgresql://", "postgres://")):
                raise ValueError("must be the path of a SQLite file or a postgresql:// URL")
            return value
        return Path(value) if isinstance(value, str) else value

    @property
    def database_is_postgres(self) -> bool:
        return isinstance(self.OUTAGE_BOT_DB, str)

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
        from bot.features.workcal import parse_hours

        parse_hours(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.OUTAGE_BOT_TZ)


class Settings(CoreSettings, *SETTINGS_MODELS):
    """The core settings and every platform's (each platform's folder has its own model)."""


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
