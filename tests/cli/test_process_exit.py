"""The console script ends its process without taking the interpreter apart, but only after
everything an ordinary exit does that matters: output flushed and exit functions run (a
reader that goes away early is tested with the other outputs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _meso(*args: str, **kwargs):
    return subprocess.run([sys.executable, "-m", "mesocli", *args], capture_output=True, timeout=300, **kwargs)


def test_the_whole_document_reaches_standard_output():
    done = _meso("check", "--allergy", "lidocaine", "--json")
    assert done.returncode == 1, done.stderr  # contraindicated findings
    document = json.loads(done.stdout)
    assert document["kind"] == "check" and document["screened"] is True


def test_exit_functions_run(tmp_path):
    """A function registered with atexit (here by a sitecustomize module) still runs."""
    marker = tmp_path / "ran"
    (tmp_path / "sitecustomize.py").write_text(
        f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').close())\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = _meso("--version", env=env)
    assert done.returncode == 0, done.stderr
    assert marker.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (its writes fail with 'disk full')")
@pytest.mark.parametrize("args", [("--version",), ("ingredients", "list", "--json"),
                                  ("check", "--allergy", "lidocaine", "--json"),
                                  ("build", "--indication", "hair-loss")])
def test_standard_output_that_cannot_be_written_is_exit_4_never_the_findings_code(args):
    """A full disk behind standard output is said on standard error with exit 4 (out of a
    resource): never a traceback, and never exit 1, which a pipeline reads as findings."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "mesocli", *args], stdout=full, stderr=subprocess.PIPE,
                              timeout=300)
    assert done.returncode == 4
    assert done.stderr.decode() == ("meso: error: cannot write standard output (disk full); "
                                    "what was written before is incomplete\n")
