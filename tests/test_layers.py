"""The layering contracts in pyproject.toml ([tool.importlinter]) hold: the engine does no I/O, the
store knows no channel, the runtime and the features name no platform."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_layering_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_platform_is_one_folder_and_one_registry_line():
    """No platform's name appears in the runtime, the features, the store's code or the ports."""
    from bot.channels.registry import PLATFORMS

    names = [name for name in PLATFORMS if name != "console"]
    for folder in ("runtime", "features", "store", "engine"):
        for path in (ROOT / "bot" / folder).rglob("*.py"):
            code = "\n".join(
                line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
            )
            for name in names:
                assert f'"{name}"' not in code, f"{path.relative_to(ROOT)} names the platform {name!r}"


def test_every_package_is_installed():
    """A folder of code that pyproject.toml doesn't list would be missing from a real install."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "bot").rglob("__init__.py")}
    assert folders <= listed, sorted(folders - listed)
