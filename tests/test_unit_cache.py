"""pint's cache of unit definitions in meso's cache directory, shared by processes starting together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PARSE = ("from mesocli.units import parse_quantity; "
         "print(parse_quantity('20 mg/mL', kind='concentration', what='c').in_unit('g/L'))")


def _start(home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MESO_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", PARSE], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_processes_starting_together_on_an_empty_cache_all_know_their_units(tmp_path):
    """Eight processes build the registry at once on a fresh cache; each parses mg/mL."""
    for round_ in range(2):
        home = tmp_path / f"home{round_}"
        processes = [_start(home) for _ in range(8)]
        outcomes = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outcomes]
        assert {out.strip() for out, _ in outcomes} == {"20.0"}
        assert any((home / "cache" / "pint").iterdir())  # the cache was written


def test_the_registry_waits_for_a_process_holding_the_cache(tmp_path):
    """While another process holds the cache lock, a new one waits, then builds normally."""
    fcntl = pytest.importorskip("fcntl")
    folder = tmp_path / "cache" / "pint"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = _start(tmp_path)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=3)  # blocked on the lock
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out.strip() == "20.0"
