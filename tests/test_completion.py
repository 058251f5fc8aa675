"""``meso completion bash|zsh|fish``: the scripts, and the completions meso answers them with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHELL_MARKERS = {
    "bash": ["complete -o default -F _meso_completion meso", "COMP_WORDS", "_MESO_COMPLETE=complete_bash"],
    "zsh": ["#compdef meso", "compdef _meso_completion meso", "_MESO_COMPLETE=complete_zsh"],
    "fish": ["complete --command meso", "_MESO_COMPLETE=complete_fish"],
}


@pytest.mark.parametrize("shell", sorted(SHELL_MARKERS))
def test_completion_prints_the_script_for_the_shell(meso, shell):
    """Each shell gets a script that calls meso back through _MESO_COMPLETE, in its own syntax."""
    outcome = meso("completion", shell)
    assert outcome.exit_code == 0, outcome.stderr
    script = outcome.stdout
    assert script.strip() and script.endswith("\n")
    assert "_MESO_COMPLETE" in script
    for marker in SHELL_MARKERS[shell]:
        assert marker in script, marker
    for other, markers in SHELL_MARKERS.items():
        if other != shell:
            assert markers[-1] not in script


def test_zsh_script_starts_with_compdef():
    """zsh reads '#compdef' only on a completion file's first line."""
    done = _meso_process("completion", "zsh")
    assert done.stdout.splitlines()[0] == "#compdef meso"


@pytest.mark.parametrize("args", [("completion", "tcsh"), ("completion",)], ids=["unknown", "missing"])
def test_unknown_or_missing_shell_is_a_usage_error(meso, args):
    """An unknown or missing shell is exit 2, naming the shells meso supports; nothing on stdout."""
    outcome = meso(*args)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    for shell in ("bash", "zsh", "fish"):
        assert shell in outcome.stderr


# --------------------------------------------------------------------------- answering the shell


def _meso_process(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("_MESO_COMPLETE", "COMP_", "_TYPER_COMPLETE"))}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "mesocli", *args], env=full, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def _bash_completions(line: str) -> list[str]:
    words = line.split(" ")
    done = _meso_process(_MESO_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(("line", "expected"), [
    ("meso ingr", ["ingredients"]),
    ("meso ", ["allergens", "batch", "build", "catalogue", "check", "completion", "conditions", "db", "indications",
               "ingredients", "medications", "products", "schema"]),
    ("meso ingredients ", ["list", "search", "show"]),
    ("meso products list --format ", ["table", "json", "csv", "markdown"]),
    ("meso completion ", ["bash", "zsh", "fish"]),
], ids=["command", "all-commands", "subcommand", "format-values", "shells"])
def test_bash_completion_offers_commands_and_values(line, expected):
    """meso answers a bash completion request with the words that fit (in any order)."""
    assert sorted(_bash_completions(line)) == sorted(expected)


@pytest.mark.parametrize(("line", "expected"), [
    ("meso indications show hair", ["hair-loss"]),
    ("meso ingredients list --class vitam", ["vitamin"]),
    ("meso allergens show paraben", ["parabens"]),
], ids=["indication", "class", "allergen"])
def test_catalogue_names_are_completed_from_the_catalogue(line, expected):
    """Catalogue ids are offered for names and filters."""
    assert _bash_completions(line) == expected


def test_catalogue_completion_offers_every_matching_id(catalogue):
    """'meso ingredients show lido' offers every substance and product id starting with 'lido'."""
    expected = sorted(i for i in [*catalogue.substances, *catalogue.products] if i.startswith("lido"))
    assert len(expected) > 1
    assert _bash_completions("meso ingredients show lido") == expected


def test_catalogue_completion_offers_nothing_when_the_database_is_missing(tmp_path):
    """With no usable catalogue the shell gets no candidates, and no error text."""
    done = _meso_process(_MESO_COMPLETE="complete_bash", COMP_WORDS="meso indications show hair", COMP_CWORD="3",
                         MESO_DATABASE_URL=f"sqlite:///{tmp_path / 'missing.sqlite'}")
    assert done.returncode == 0
    assert done.stdout.strip() == ""
    assert "Traceback" not in done.stderr


def test_zsh_and_fish_requests_are_answered():
    """The zsh and fish protocols get the same candidates, in their own formats."""
    zsh = _meso_process(_MESO_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="meso ingr")
    assert zsh.returncode == 0, zsh.stderr
    assert "ingredients" in zsh.stdout
    fish = _meso_process(_MESO_COMPLETE="complete_fish", _TYPER_COMPLETE_ARGS="meso ingr",
                         _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert fish.returncode == 0, fish.stderr
    assert fish.stdout.split("\t")[0].strip() == "ingredients"


def test_the_bash_script_completes_through_the_installed_command(tmp_path):
    """Sourced into bash, the script asks the installed 'meso' and fills COMPREPLY."""
    bash = shutil.which("bash")
    script = Path(sys.executable).parent / "meso"
    if bash is None or not script.exists():
        pytest.skip("needs bash and the installed meso command")
    (tmp_path / "meso.bash").write_text(_meso_process("completion", "bash").stdout, encoding="utf-8")
    program = (
        'source "$1"\n'
        'func=$(complete -p meso | sed -E "s/.*-F ([^ ]+).*/\\1/")\n'
        "COMP_WORDS=(meso ingr); COMP_CWORD=1\n"
        '"$func" meso ingr meso\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_MESO_COMPLETE", "COMP_"))}
    env["PATH"] = f"{script.parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([bash, "--norc", "--noprofile", "-c", program, "bash", str(tmp_path / "meso.bash")],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ingredients"]
