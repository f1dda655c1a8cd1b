"""Where the playbooks that ship with outage-bot are."""

from __future__ import annotations

from pathlib import Path

import bot


def shipped_playbooks_dir() -> Path:
    """Installed wheels carry them as bot/shipped_playbooks; a source checkout has them at playbooks/."""
    package_dir = Path(bot.__file__).resolve().parent
    installed = package_dir / "shipped_playbooks"
    if installed.is_dir():
        return installed
    return package_dir.parent / "playbooks"
