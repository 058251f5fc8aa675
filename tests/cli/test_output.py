"""One output contract: the same --format names wherever each makes sense, -o FILE wherever
output can be saved (- is standard output), hints in the option's own dimension, and a --help
that documents every exit code."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from mesocli.cli.output import FORMATS

# Every command that writes a document, and the formats it offers.
COMMANDS = {
    ("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine"):
        ("table", "json", "csv", "markdown", "fhir"),
    ("build", "--indication", "hair-loss", "--volume", "2 mL"): ("table", "json", "markdown", "fhir", "csv"),
    ("ingredients", "list"): ("table", "json", "csv", "markdown"),
    ("products", "list"): ("table", "json", "csv", "markdown"),
    ("indications", "list"): ("table", "json", "csv", "markdown"),
    ("allergens", "list"): ("table", "json", "csv", "markdown"),
    ("conditions", "list"): ("table", "json", "csv", "markdown"),
    ("medications", "list"): ("table", "json", "csv", "markdown"),
    ("ingredients", "search", "vitamin"): ("table", "json", "csv", "markdown"),
    ("ingredients", "show", "lidocaine"): ("table", "json"),
    ("products", "show", "restylane-vital-lidocaine"): ("table", "json"),
    ("indications", "show", "hair-loss"): ("table", "json"),
    ("allergens", "show", "parabens"): ("table", "json"),
}
CASES = [(args, fmt) for args, formats in COMMANDS.items() for fmt in formats]


def _ids(cases):
    return [" ".join(args[:2]) + f" {fmt}" for args, fmt in cases]


@pytest.mark.parametrize(("args", "fmt"), CASES, ids=_ids(CASES))
def test_each_offered_format_writes_and_o_file_saves_the_same_bytes(meso, tmp_path, args, fmt):
    """Every offered format works, and -o FILE saves exactly what standard output shows."""
    shown = meso(*args, "--format", fmt)
    assert shown.exit_code in (0, 1), shown.stderr
    assert shown.stdout
    target = tmp_path / f"out.{fmt}"
    saved = meso(*args, "--format", fmt, "-o", str(target))
    assert saved.exit_code == shown.exit_code
    assert saved.stdout == ""
    assert target.read_bytes().decode("utf-8") == shown.stdout
    if fmt in ("json", "fhir"):
        json.loads(shown.stdout)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(shown.stdout)))
        assert len({len(row) for row in rows}) == 1 and len(rows) >= 1


@pytest.mark.parametrize("args", list(COMMANDS), ids=[" ".join(a[:2]) for a in COMMANDS])
def test_a_format_a_command_does_not_offer_is_refused_naming_those_it_does(meso, args):
    """--format with a name the command does not offer is exit 2 and lists the names it offers."""
    offered = COMMANDS[args]
    for fmt in [*(f for f in FORMATS if f not in offered), "xml"]:
        outcome = meso(*args, "--format", fmt)
        assert outcome.exit_code == 2
        assert "--format must be " + ", ".join(offered[:-1]) + f" or {offered[-1]}" in outcome.stderr
        assert repr(fmt) in outcome.stderr


@pytest.mark.parametrize("args", list(COMMANDS), ids=[" ".join(a[:2]) for a in COMMANDS])
def test_json_is_format_json_and_o_dash_is_standard_output(meso, tmp_path, monkeypatch, args):
    """--json equals --format json everywhere, and -o - writes to standard output (no file named '-')."""
    monkeypatch.chdir(tmp_path)
    by_flag = meso(*args, "--json")
    by_name = meso(*args, "--format", "json", "-o", "-")
    assert by_flag.stdout == by_name.stdout and by_flag.exit_code == by_name.exit_code
    assert not Path("-").exists()


def test_schema_and_catalogue_export_take_o_too(meso, tmp_path, monkeypatch):
    """meso schema and meso catalogue export save with -o FILE and print with -o -."""
    monkeypatch.chdir(tmp_path)
    assert meso("schema", "list", "-o", "list.json").exit_code == 0
    assert json.loads(Path("list.json").read_text(encoding="utf-8"))["title"] == "meso list document"
    assert meso("schema", "show", "-o", "-").json()["title"] == "meso show document"
    exported = meso("catalogue", "export", "--all", "-o", "-")
    assert exported.exit_code == 0 and "[[product]]" in exported.stdout
    assert meso("catalogue", "export", "--all", "-o", "all.toml").stdout == ""
    assert Path("all.toml").read_text(encoding="utf-8") == exported.stdout
    assert not Path("-").exists()


def test_o_replaces_the_file_whole_and_never_writes_through_a_symlink(meso, tmp_path):
    """-o renames a finished file into place: an old file is replaced, and a symlink at the
    path is replaced by the file rather than writing into what it points at."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    outcome = meso("indications", "list", "--json", "-o", str(link))
    assert outcome.exit_code == 0
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert not link.is_symlink() and json.loads(link.read_text(encoding="utf-8"))["kind"] == "indications"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "victim.txt"]


def test_o_that_cannot_be_written_leaves_the_old_file_and_no_temporary(meso, tmp_path):
    """A failed save is exit 2 naming the file; nothing half-written is left behind."""
    directory = tmp_path / "a-directory"
    directory.mkdir()
    outcome = meso("indications", "list", "-o", str(directory))
    assert outcome.exit_code == 2 and "is a directory" in outcome.stderr
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x", encoding="utf-8")
    outcome = meso("indications", "list", "-o", str(blocked / "out.txt"))
    assert outcome.exit_code == 2 and "--output: cannot write" in outcome.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "file-not-dir"]


def test_a_refused_command_does_not_touch_the_output_file(meso, tmp_path):
    """An invalid request is refused before anything is written: the previous file stays."""
    target = tmp_path / "card.md"
    target.write_text("previous\n", encoding="utf-8")
    outcome = meso("build", "--indication", "hair-los", "--format", "markdown", "-o", str(target))
    assert outcome.exit_code == 2
    assert target.read_text(encoding="utf-8") == "previous\n"


def test_a_saved_file_gets_ordinary_permissions(meso, tmp_path):
    """The file -o writes is readable as any new file is (umask), not private to the temporary's 0600."""
    target = tmp_path / "out.csv"
    assert meso("conditions", "list", "--format", "csv", "-o", str(target)).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(("option", "value", "example"), [
    ("--weight", "70", "'70 kg'"),
    ("--treatment-area", "25", "'25 cm^2'"),
    ("--volume", "2", "'2 mL'"),
])
def test_unit_hints_name_the_options_own_dimension(meso, option, value, example):
    """A number without its unit is refused with an example of the same kind of quantity."""
    outcome = meso("build", "--indication", "submental-fat", option, value)
    assert outcome.exit_code == 2
    assert f"e.g. {example}" in outcome.stderr
    assert "mL" not in outcome.stderr or option == "--volume"


def test_markdown_escapes_what_would_change_its_meaning():
    """Pipes, emphasis, links and HTML in names show literally; line breaks cannot end a table row."""
    from mesocli.render.tabular import markdown_table, markdown_text

    assert markdown_text("a|b*c_[d](e)<f>`g`") == r"a\|b\*c\_\[d\](e)\<f\>\`g\`"
    table = markdown_table(["id", "name"], [["x", "one\ntwo\x1b[31m|"]])
    assert table.splitlines()[2] == r"| x | one two \[31m\| |"


def test_help_documents_every_exit_code_and_shows_examples(meso):
    """meso --help lists exit codes 0 to 4 (each of errors.py's) with what they mean, and examples."""
    from mesocli import errors

    text = meso("--help").stdout
    codes = {getattr(errors, name) for name in dir(errors) if name.startswith("EXIT_")}
    assert codes == {0, 1, 2, 3, 4}
    section = text.split("Exit codes:")[1]
    for code in sorted(codes):
        assert f"\n    {code}  " in section, code
    assert "batch worker" in section
    examples = text.split("Examples:")[1].split("\n\n")[0]
    assert examples.count("meso ") >= 4
    assert "-o" in text and "--format" in text


def test_batch_saves_its_results_with_o_and_leaves_no_file_when_the_run_fails(meso, tmp_path):
    """meso batch -o FILE writes exactly the lines it would print; input with no request leaves no file."""
    requests = tmp_path / "requests.ndjson"
    requests.write_text("\n".join(json.dumps(r) for r in (
        {"id": 1, "action": "check", "allergies": ["lidocaine"]},
        {"id": 2, "action": "build", "indication": "hair-loss", "volume": "2 mL"},
        {"id": 3, "action": "check", "Allergies": ["lidocaine"]},
    )) + "\n", encoding="utf-8")
    printed = meso("batch", str(requests))
    target = tmp_path / "results.ndjson"
    saved = meso("batch", str(requests), "-o", str(target))
    assert saved.exit_code == printed.exit_code == 2
    assert saved.stdout == "" and target.read_text(encoding="utf-8") == printed.stdout
    assert len(printed.stdout.splitlines()) == 3
    blank = tmp_path / "blank.ndjson"
    blank.write_text("\n\n", encoding="utf-8")
    nothing = tmp_path / "nothing.ndjson"
    outcome = meso("batch", str(blank), "-o", str(nothing))
    assert outcome.exit_code == 2 and "has no requests" in outcome.stderr
    assert not nothing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.ndjson", "requests.ndjson", "results.ndjson"]


def test_every_offered_format_has_its_renderer_and_no_other():
    """The formats each command offers are exactly those it has a renderer for, all known formats."""
    from mesocli.cli import catalogue_commands, verbs

    assert tuple(catalogue_commands.LIST_RENDERERS) == catalogue_commands.LIST_FORMATS
    assert tuple(verbs.CHECK_RENDERERS) == verbs.CHECK_FORMATS
    assert tuple(verbs.BUILD_RENDERERS) == verbs.BUILD_FORMATS
    for formats in (catalogue_commands.LIST_FORMATS, catalogue_commands.SHOW_FORMATS, verbs.CHECK_FORMATS,
                    verbs.BUILD_FORMATS):
        assert set(formats) <= set(FORMATS) and formats[0] == "table"


def test_batch_o_from_the_worker_pool_equals_one_process(meso, tmp_path, monkeypatch):
    """A file large enough for the forked workers gives, saved with -o, what one process prints."""
    from mesocli import batch

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    monkeypatch.setattr(batch, "CHUNK_LINES", 50)
    lines = [json.dumps({"id": f"request-{n:06d}", "action": "check",
                         "allergies": [["lidocaine"], ["parabens"], []][n % 3],
                         "ingredients": [["restylane-vital-lidocaine"], ["ha-nonxl-booster"]][n % 2]})
             if n % 97 else json.dumps({"id": n, "action": "check", "Allergies": []}) for n in range(900)]
    requests = tmp_path / "requests.ndjson"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert requests.stat().st_size >= 64 * 1024
    one = meso("batch", str(requests), env={"MESO_BATCH_WORKERS": "1"})
    target = tmp_path / "pool.ndjson"
    pooled = meso("batch", str(requests), "-o", str(target), env={"MESO_BATCH_WORKERS": "2"})
    assert pooled.exit_code == one.exit_code == 2
    assert target.read_text(encoding="utf-8") == one.stdout
    kinds = [json.loads(line)["kind"] for line in one.stdout.splitlines()]
    assert len(kinds) == 900 and kinds.count("error") == 10 and kinds.count("check") == 890


def test_a_batch_lines_patient_document_is_strict_too(meso):
    """The patient object inside a batch line refuses unknown keys, naming the one meant."""
    outcome = meso("batch", "-", input=json.dumps({"id": "p", "action": "check",
                                                   "patient": {"Allergies": ["lidocaine"]}}) + "\n")
    line = outcome.json()
    assert outcome.exit_code == 2 and line["kind"] == "error" and line["id"] == "p"
    assert "'Allergies' (did you mean 'allergies'?)" in line["message"]


def test_start_up_imports_nothing_the_output_contract_does_not_need():
    """Loading the command line (for --help) imports neither dataclasses nor tempfile."""
    import subprocess
    import sys

    code = "import sys, mesocli.cli.app; print(sorted(m for m in ('dataclasses', 'tempfile') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
