"""``meso batch`` progress: a bar on stderr when stderr is a terminal, never on stdout.

stdout carries the NDJSON results and must stay byte-clean whatever stderr is attached to.
"""

from __future__ import annotations

import json
import sys

import pytest

from mesocli.render.progress import wanted
from tests._terminal import ANSI, meso_env, run_on_terminal, run_piped

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

LINES = 60


@pytest.fixture(scope="module")
def requests_file(tmp_path_factory):
    """A batch of checks and builds, each with its own id."""
    requests = []
    for n in range(LINES):
        if n % 3 == 2:
            requests.append({"id": f"r{n}", "action": "build", "indication": "hair-loss"})
        else:
            requests.append({"id": f"r{n}", "action": "check", "allergies": ["lidocaine"],
                             "ingredients": ["restylane-vital-lidocaine" if n % 2 else "ha-nonxl-booster"]})
    path = tmp_path_factory.mktemp("batch") / "requests.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    return str(path)


def _results(stdout: bytes) -> list[dict]:
    text = stdout.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_progress_goes_to_a_terminal_stderr_and_results_stay_pure_ndjson(requests_file):
    """With stderr on a terminal and stdout on a pipe: stdout is exactly one JSON result per request
    (in order, no escape sequences) and the terminal shows the progress bar, which stdout never does."""
    run = run_on_terminal("batch", requests_file, env=meso_env(), stderr_tty=True)
    assert run.code == 1, run.terminal.decode("utf-8", "replace")  # the lidocaine checks are contraindicated
    assert b"\x1b" not in run.stdout
    results = _results(run.stdout)
    assert [r["id"] for r in results] == [f"r{n}" for n in range(LINES)]
    assert {r["kind"] for r in results} == {"check", "recipe"}
    assert b"requests" in run.terminal  # the bar's counter
    assert ANSI in run.terminal  # drawn and cleared with terminal controls
    assert b'"schema_version"' not in run.terminal  # no result was routed to the terminal


def test_no_progress_when_stderr_is_not_a_terminal(requests_file):
    """With both streams on pipes, stderr stays empty: no bar, no escape sequences."""
    run = run_piped("batch", requests_file, env=meso_env())
    assert run.code == 1
    assert run.stderr == b""
    assert len(_results(run.stdout)) == LINES


def test_no_progress_on_a_dumb_terminal(requests_file):
    """TERM=dumb cannot redraw a line: the terminal on stderr receives nothing."""
    run = run_on_terminal("batch", requests_file, env=meso_env(TERM="dumb"), stderr_tty=True)
    assert run.code == 1
    assert run.terminal == b""
    assert len(_results(run.stdout)) == LINES


def test_no_progress_when_the_results_go_to_the_same_terminal(requests_file):
    """When stdout is the terminal too, the results are shown as they are, with no bar torn through them."""
    run = run_on_terminal("batch", requests_file, env=meso_env(), stdout_tty=True, stderr_tty=True)
    assert run.code == 1
    assert b"\x1b" not in run.terminal  # a bar always draws with terminal controls
    text = run.terminal.replace(b"\r\n", b"\n")
    assert [r["id"] for r in _results(text)] == [f"r{n}" for n in range(LINES)]


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("stderr_tty", "stdout_tty", "term", "expected"), [
    (True, False, "xterm-256color", True),
    (False, False, "xterm-256color", False),
    (True, True, "xterm-256color", False),
    (True, False, "dumb", False),
])
def test_when_a_bar_is_wanted(monkeypatch, stderr_tty, stdout_tty, term, expected):
    """Only a capable terminal on stderr, with the results going elsewhere, gets a bar."""
    monkeypatch.setenv("TERM", term)
    assert wanted(_Stream(stderr_tty), _Stream(stdout_tty)) is expected
