"""What an offline check returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    facts: dict[str, Any] = field(default_factory=dict)  # JSON-safe; saved in the conversation
    message: dict[str, str] = field(default_factory=dict)  # {"zh": ..., "en": ...}; may be empty
