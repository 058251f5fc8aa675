"""The console script ends its process without taking the interpreter apart, but only after
everything an ordinary exit does that matters: output flushed and exit functions run (a
reader that goes away early is tested with the other outputs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


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
