"""Settings from the environment and a `.env` file in the working directory.

A wrong value stops the program with a message that names the variable, what is wrong, and the
value given, e.g. `MATCH_THRESHOLD: must be at most 1 (got '3')`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


_CONSTRAINTS = {
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "float_parsing": "must be a number",
    "int_parsing": "must be a whole number",
    "literal_error": "must be one of {expected}",
}


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env; `overrides` (e.g. from command-line flags) win. Raises SettingsError."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            template = _CONSTRAINTS.get(err["type"])
            reason = template.format(**(err.get("ctx") or {})) if template else err["msg"]
            lines.append(f"{name}: {reason} (got {err.get('input')!r})")
        raise SettingsError("\n".join(lines)) from None
