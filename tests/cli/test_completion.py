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


# --------------------------------------------------------------------------- every value option

def _expected(catalogue, *parts):  # type: ignore[no-untyped-def]
    def ids(part):  # type: ignore[no-untyped-def]
        if part.startswith("unrelated_"):  # the vocabulary's terms of one kind, keyed (kind, id)
            return [entry for kind, entry in catalogue.unrelated if kind == part.removeprefix("unrelated_")]
        return getattr(catalogue, part)

    return sorted({i for part in parts for i in ids(part)})


@pytest.mark.parametrize(("line", "parts"), [
    ("meso build --indication ", ["indications"]),
    ("meso check --indication ", ["indications"]),
    ("meso build --area ", ["areas"]),
    ("meso check --area ", ["areas"]),
    ("meso check --allergy ", ["substances", "groups", "unrelated_allergy"]),
    ("meso build -a ", ["substances", "groups", "unrelated_allergy"]),
    ("meso check --condition ", ["conditions", "unrelated_condition"]),
    ("meso build --condition ", ["conditions", "unrelated_condition"]),
    ("meso check --medication ", ["medications", "medication_classes", "unrelated_medication"]),
    ("meso build -m ", ["medications", "medication_classes", "unrelated_medication"]),
    ("meso check --ingredient ", ["substances", "products"]),
], ids=lambda v: v.strip().replace(" ", "_") if isinstance(v, str) else None)
def test_every_catalogue_term_option_offers_its_catalogue_ids(catalogue, line, parts):
    """Each option whose value is a catalogue term is offered every id of that kind."""
    assert sorted(_bash_completions(line)) == _expected(catalogue, *parts)


@pytest.mark.parametrize(("line", "prefix", "parts"), [
    ("meso check --allergy lido", "lido", ["substances", "groups"]),
    ("meso check --ingredient lido", "lido", ["substances", "products"]),
    ("meso build --medication warf", "warf", ["medications", "medication_classes"]),
], ids=["allergy", "ingredient", "medication"])
def test_catalogue_terms_are_filtered_by_what_is_typed(catalogue, line, prefix, parts):
    """Only the ids starting with the typed text are offered."""
    expected = [i for i in _expected(catalogue, *parts) if i.startswith(prefix)]
    assert expected
    assert _bash_completions(line) == expected


def test_areas_follow_the_indication_already_given(catalogue):
    """After --indication, --area offers only that indication's areas."""
    areas = sorted(catalogue.indications["hair-loss"].areas)
    assert areas and len(areas) < len(catalogue.areas)
    assert _bash_completions("meso build --indication hair-loss --area ") == areas


@pytest.mark.parametrize(("line", "expected"), [
    ("meso build --format ", ["table", "json", "markdown", "fhir", "csv"]),
    ("meso check --format ", ["table", "json", "csv", "markdown", "fhir"]),
    ("meso build --format m", ["markdown"]),
], ids=["build", "check", "prefix"])
def test_format_values_are_the_commands_own(line, expected):
    """--format offers exactly the formats the command accepts, in the order its help lists them."""
    from mesocli.cli.verbs import BUILD_FORMATS, CHECK_FORMATS

    assert {"build": BUILD_FORMATS, "check": CHECK_FORMATS}[line.split()[1]] == tuple(
        _bash_completions(line.rsplit(" ", 1)[0] + " "))
    assert _bash_completions(line) == expected


@pytest.mark.parametrize("line", [
    "meso check --patient pa", "meso check --recipe ", "meso build --patient ", "meso build -o ca",
    "meso batch ", "meso db build -o fo", "meso db build --source da",
])
def test_file_options_are_left_to_the_shell(line):
    """meso offers no candidate for a file, so each shell completes file names its own way."""
    assert _bash_completions(line) == []
    zsh = _meso_process(_MESO_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS=line)
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.strip() == "_files"
    fish = _meso_process(_MESO_COMPLETE="complete_fish", _TYPER_COMPLETE_ARGS=line,
                         _TYPER_COMPLETE_FISH_ACTION="is-args")
    assert fish.returncode == 1  # "no arguments of mine here": fish lists files


# --------------------------------------------------------------------------- real shells

REQUIRE_SHELLS = os.environ.get("MESO_TEST_REQUIRE_SHELLS") == "1"  # CI: a missing shell fails


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if REQUIRE_SHELLS:
            pytest.fail(f"{name} is not installed, and MESO_TEST_REQUIRE_SHELLS=1 says it must be")
        pytest.skip(f"{name} is not installed")
    return found


def _installed_meso() -> Path:
    script = Path(sys.executable).parent / "meso"
    if not script.exists():
        pytest.skip("needs the installed meso command")
    return script


def _shell_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_MESO_COMPLETE", "COMP_", "_TYPER_COMPLETE"))}
    env["PATH"] = f"{_installed_meso().parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def _script(tmp_path: Path, shell: str) -> Path:
    path = tmp_path / f"meso.{shell}"
    path.write_text(_meso_process("completion", shell).stdout, encoding="utf-8")
    return path


@pytest.mark.parametrize(("words", "expected"), [
    (["meso", "build", "--indication", "hair"], ["hair-loss"]),
    (["meso", "check", "--format", ""], ["table", "json", "csv", "markdown", "fhir"]),
    (["meso", "check", "--condition", "preg"], ["pregnancy"]),
], ids=["indication", "format", "condition"])
def test_real_bash_completes_values(tmp_path, words, expected):
    """Sourced into bash, the script fills COMPREPLY with the values for the word being typed."""
    bash = _shell("bash")
    program = (
        'source "$1"; shift\n'
        'complete -p meso\n'
        'func=$(complete -p meso | sed -E "s/.*-F ([^ ]+).*/\\1/")\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
        '"$func" meso "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run([bash, "--norc", "--noprofile", "-c", program, "bash", str(_script(tmp_path, "bash")),
                           *words], env=_shell_env(tmp_path), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    spec, *replies = done.stdout.splitlines()
    assert "-o default" in spec  # bash completes file names itself when meso offers nothing
    assert [r for r in replies if r] == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("meso build --indication hair", ["hair-loss"]),
    ("meso build --format mark", ["markdown"]),
    ("meso check --medication warf", ["warfarin"]),
    ("meso check --patient pati", ["patient.toml"]),
], ids=["indication", "format", "medication", "file"])
def test_real_fish_completes_values_and_files(tmp_path, line, expected):
    """fish, with the script loaded, completes catalogue values, formats, and file names."""
    fish = _shell("fish")
    (tmp_path / "patient.toml").write_text('allergies = ["lidocaine"]\n', encoding="utf-8")
    program = f'source {_script(tmp_path, "fish")}; complete -C "{line}"'
    done = subprocess.run([fish, "--no-config", "-c", program], cwd=tmp_path, env=_shell_env(tmp_path),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert [row.split("\t")[0] for row in done.stdout.splitlines()] == expected


@pytest.mark.parametrize(("words", "expected"), [
    (["meso", "build", "--indication", "hair"], ['ARGS *: :(("hair-loss"))']),
    (["meso", "check", "--allergy", "paraben"], ['ARGS *: :(("parabens"))']),
    (["meso", "check", "--recipe", "rec"], ["FILES"]),
], ids=["indication", "allergy", "file"])
def test_real_zsh_runs_the_script(tmp_path, words, expected):
    """zsh runs the script's completion function; what meso answers is what it hands to zsh's
    completion system (_arguments with the values, or _files for a file). The two compsys
    functions are stood in for, since they only run inside an interactive line editor."""
    zsh = _shell("zsh")
    program = (
        'compdef() { : }\n'
        'source "$1"; shift\n'
        '_arguments() { print -r -- "ARGS $*" }\n'
        '_files() { print -r -- FILES }\n'
        'words=("$@"); CURRENT=$#\n'
        '_meso_completion\n'
    )
    done = subprocess.run([zsh, "-f", "-c", program, "zsh", str(_script(tmp_path, "zsh")), *words],
                          env=_shell_env(tmp_path), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected
