"""Human output as a real process sees it: styled on a colour terminal, plain text when
``NO_COLOR`` is set, when ``TERM=dumb``, and when stdout is a pipe."""

from __future__ import annotations

import sys

import pytest

from tests._terminal import ANSI, meso_env, run_on_terminal, run_piped

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

COMMANDS = [
    ("ingredients", "list"),
    ("check", "--allergy", "lidocaine", "--ingredient", "hyaluronic-acid"),
]
IDS = ["ingredients-list", "check"]


def _text(data: bytes) -> str:
    """Terminal bytes as the text a pipe would carry (the terminal turns "\\n" into "\\r\\n")."""
    return data.replace(b"\r\n", b"\n").decode("utf-8")


@pytest.fixture(scope="module", params=COMMANDS, ids=IDS)
def piped(request, tmp_path_factory):
    """The command's output through a pipe, in an environment that would allow colour."""
    args = request.param
    run = run_piped(*args, env=meso_env(FORCE_COLOR="1", MESO_HOME=str(tmp_path_factory.mktemp("meso-home"))))
    assert run.code == 0, run.stderr
    return args, run


def test_piped_output_is_plain_even_where_colour_is_allowed(piped):
    """A pipe gets plain text: no escape sequences, even with FORCE_COLOR and a colour TERM."""
    _, run = piped
    assert run.stdout.strip()
    assert ANSI not in run.stdout and b"\x1b" not in run.stdout
    assert ANSI not in run.stderr


def test_a_colour_terminal_gets_styled_output(piped):
    """On a colour terminal the same command is styled (so the plain cases below are a real difference)."""
    args, _ = piped
    run = run_on_terminal(*args, env=meso_env(), stdout_tty=True)
    assert run.code == 0, run.stderr
    assert ANSI in run.terminal


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}], ids=["NO_COLOR", "TERM=dumb"])
def test_no_color_and_dumb_terminal_give_the_piped_text(piped, env):
    """NO_COLOR=1 or TERM=dumb on a terminal gives exactly the plain text a pipe gets, no escapes."""
    args, plain = piped
    run = run_on_terminal(*args, env=meso_env(**env), stdout_tty=True)
    assert run.code == 0, run.stderr
    assert b"\x1b" not in run.terminal
    assert _text(run.terminal) == plain.stdout.decode("utf-8")
