"""The README's first command works as written, on a copy of the tree, with the system's python3."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAFETY_LIMIT_SECONDS = 1800  # a net against a hung install; nothing here measures time
# What a checkout never carries: version control, virtual environments, caches, build output.
NOT_IN_A_CHECKOUT = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.pyc", "*.egg-info",
                                           ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis",
                                           "build", "dist")


def _first_commands() -> tuple[str, str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    return blocks[0].strip(), blocks[1].strip()


def _system_python() -> str:
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def test_readme_commands_use_a_virtual_environment():
    """Both commands make a virtual environment first: a PEP 668 system refuses a bare pip install."""
    for command in _first_commands():
        assert command.startswith("python3 -m venv "), command
        assert not re.search(r"(^|&&\s*)(python3 -m )?pip install", command), command
    install, test = _first_commands()
    assert "meso build --indication" in install
    assert "-m pytest" in test and '".[test]"' in test


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the README's commands are POSIX shell")
def test_readme_first_command_runs_on_a_fresh_copy(tmp_path):
    """The first command, run by sh in a fresh copy of the tree with the system python3, prints a recipe."""
    command, _ = _first_commands()
    checkout = tmp_path / "meso"
    shutil.copytree(ROOT, checkout, ignore=NOT_IN_A_CHECKOUT)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    python3.write_text(f'#!/bin/sh\nexec "{_system_python()}" "$@"\n', encoding="utf-8")
    python3.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MESO_DATABASE_URL", "NO_COLOR", "COLUMNS")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", MESO_HOME=str(tmp_path / "home"),
               HOME=str(tmp_path / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run(["sh", "-c", command], cwd=checkout, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=SAFETY_LIMIT_SECONDS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "meso build: Hair loss" in done.stdout
    assert "Syringe 1:" in done.stdout
    assert "decision support for qualified practitioners" in done.stdout
    assert (checkout / ".venv" / "bin" / "meso").exists()
