"""A real headless browser (Debian's chromium) for the pages the bot serves.

Installed on first use where apt-get can (CI runs as root on Debian); where it cannot, the tests
that need it skip with the command to run, except under CI=true, where they fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")
PACKAGES = ("chromium", "fonts-noto-cjk")  # the fonts: Chinese text renders as text, not boxes


def _find() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _install() -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return
    install = ["apt-get", "install", "-y", "-q", *PACKAGES]
    if subprocess.run(install, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=900)
        subprocess.run(install, capture_output=True, timeout=900)


def chromium() -> str:
    found = _find()
    if found is None:
        _install()
        found = _find()
    if found is None:
        why = f"no headless chromium here: apt-get install {' '.join(PACKAGES)}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return found


def _run(binary: str, width: int, height: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--window-size={width},{height}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def dom(binary: str, url: str, width: int) -> str:
    """The page's DOM after it loaded, as the browser built it."""
    return _run(binary, width, 900, "--dump-dom", url).stdout


def screenshot(binary: str, url: str, out: Path, width: int, height: int) -> Path:
    _run(binary, width, height, f"--screenshot={out}", url)
    assert out.exists() and out.stat().st_size > 0, f"no screenshot of {url}"
    return out
