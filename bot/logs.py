"""Logging: plain text or one JSON object per line (LOG_FORMAT=json), with secrets redacted.

Libraries log request URLs (a Telegram URL contains the bot token; a robot webhook URL its key),
so every record passes a filter that replaces each configured secret with `***`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.redact import redact_urls

CONTEXT_FIELDS = ("conversation", "message_id", "channel", "case_id")


class Redactor(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        message = redact_urls(message)
        if record.exc_info:  # tracebacks too: render now, redacted, instead of at format time
            message += "\n" + redact_urls(logging.Formatter().formatException(record.exc_info))
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def secrets_of(settings: Settings) -> list[str]:
    values = [
        settings.TELEGRAM_BOT_TOKEN,
        settings.TELEGRAM_WEBHOOK_SECRET,
        settings.WECOM_SECRET,
        settings.WECOM_TOKEN,
        settings.WECOM_AES_KEY,
    ]
    return [v.get_secret_value() for v in values if v is not None]


def configure(settings: Settings, extra_secrets: list[str] | None = None, to_file: Path | None = None) -> Redactor:
    """Logging to stderr, or (`to_file`: the terminal chat, whose stderr is the chat) to a file."""
    handler = logging.FileHandler(to_file, encoding="utf-8") if to_file else logging.StreamHandler(sys.stderr)
    if settings.LOG_FORMAT == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = Redactor(secrets_of(settings) + (extra_secrets or []))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
    # request lines are noise at INFO; errors still come through
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor
