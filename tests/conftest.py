"""Shared fixtures: the shipped catalogue, a CLI runner that goes through meso's real entry
point (so exit codes and error translation are tested too), and isolated environments."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from mesocli.cli.app import run


@dataclass
class Outcome:
    """What one ``meso`` invocation did."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test runs against the shipped catalogue with its own MESO_HOME and no colour."""
    monkeypatch.delenv("MESO_DATABASE_URL", raising=False)
    monkeypatch.setenv("MESO_HOME", str(tmp_path_factory.mktemp("meso-home")))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def meso():
    """Call ``meso ARGS...`` in-process; returns an :class:`Outcome`."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Outcome:
        with runner.isolation(input=input, env=env) as (out, err, _mixed):
            code = run(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = out.getvalue().decode("utf-8")
            stderr = err.getvalue().decode("utf-8")
        return Outcome(code, stdout, stderr)

    return invoke


@pytest.fixture(scope="session")
def catalogue():
    """The shipped catalogue, loaded once."""
    from mesocli.api import load_catalogue

    return load_catalogue()
