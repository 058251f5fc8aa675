"""Attacks with big inputs: a document just over the documented limit is refused before it is
parsed, with a message naming the limit; one at the limit is read; memory stays bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from mesocli.cli import io as cli_io
from mesocli.errors import CatalogueDataError
from mesocli.storage import importer

LIMIT = cli_io.MAX_INPUT_BYTES


def test_the_documented_limit_is_the_one_enforced():
    """The README states the limits meso enforces: 1 MiB for a document, 32 MiB for an import file."""
    from mesocli.config import data_dir

    readme = (data_dir().parent / "README.md").read_text(encoding="utf-8")
    assert LIMIT == 1024 * 1024 and importer.MAX_IMPORT_BYTES == 32 * 1024 * 1024
    assert "1 MiB" in readme and "1,048,576" in readme
    assert "32 MiB" in readme and "33,554,432" in readme


def _padded_json(size: int) -> bytes:
    """A valid JSON patient of exactly ``size`` bytes."""
    head = b'{"allergies": [], "pad": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _padded_toml(size: int) -> bytes:
    head = b'pad = "'
    tail = b'"\n'
    return head + b"x" * (size - len(head) - len(tail)) + tail


SHAPES = {
    "json": _padded_json,
    "toml": _padded_toml,
    "deep-json": lambda size: (b"[" * (size // 2) + b"]" * (size - size // 2)),
    "many-objects": lambda size: b"[" + b"{}," * ((size - 4) // 3) + b"{}" + b"]" * (1 + (size - 4) % 3 - 1),
    "long-string": lambda size: b'"' + b"a" * (size - 2) + b'"',
    "toml-tables": lambda size: (b"[[t]]\n" * (size // 6 + 1))[:size],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("over", [1, 2, 4096, LIMIT])
@pytest.mark.parametrize("suffix", [".json", ".toml", ".txt"])
def test_a_document_over_the_limit_is_refused_before_parsing(tmp_path, monkeypatch, shape, over, suffix):
    """Whatever its shape, a file just over the limit is refused naming the limit; the parsers
    are never called."""
    import tomllib

    from mesocli import strictjson

    def never(*args, **kwargs):
        raise AssertionError("parsed a document over the limit")

    monkeypatch.setattr(tomllib, "loads", never)
    monkeypatch.setattr(strictjson, "loads", never)
    path = tmp_path / f"doc{suffix}"
    data = SHAPES[shape](LIMIT + over)
    path.write_bytes(data[: LIMIT + over].ljust(LIMIT + over, b" "))
    with pytest.raises(cli_io.InputError) as info:
        cli_io.read_document(str(path), "--patient")
    assert "1,048,576-byte (1 MiB) limit" in info.value.message


@pytest.mark.parametrize("make", [_padded_json, _padded_toml])
def test_a_document_of_exactly_the_limit_is_read(tmp_path, make):
    """A document of exactly the limit is read and parsed."""
    path = tmp_path / ("doc.json" if make is _padded_json else "doc.toml")
    path.write_bytes(make(LIMIT))
    assert os.path.getsize(path) == LIMIT
    assert cli_io.read_document(str(path), "--patient")["pad"].startswith("x")


@pytest.mark.parametrize("args", [("check", "--patient", "{f}", "--ingredient", "lidocaine"),
                                  ("check", "--recipe", "{f}"),
                                  ("build", "--indication", "hair-loss", "--patient", "{f}"),
                                  ("catalogue", "import", "{f}")])
@pytest.mark.parametrize("name", ["big.json", "big.toml"])
def test_every_command_refuses_a_file_over_the_limit_with_exit_2(meso, tmp_path, args, name, clinic_database):
    """Each command reading a document refuses one just over its limit (exit 2), naming the limit."""
    path = tmp_path / name
    limit = importer.MAX_IMPORT_BYTES if args[0] == "catalogue" else LIMIT
    path.write_bytes((_padded_json if name.endswith("json") else _padded_toml)(limit + 1))
    outcome = meso(*(a.replace("{f}", str(path)) for a in args), "--json") if args[0] != "catalogue" else \
        meso(*(a.replace("{f}", str(path)) for a in args))
    assert outcome.exit_code == 2, outcome.stderr
    assert ("32 MiB) limit" if args[0] == "catalogue" else "1 MiB) limit") in outcome.stderr


def test_an_import_file_larger_than_a_document_is_read(meso, tmp_path, clinic_database):
    """A clinic import file over the 1 MiB document limit (and within its own) is imported."""
    rows = "".join(f'[[substance]]\nid = "clinic-extract-{n}"\nname = "Clinic extract {n}"\nclass = "plant-extract"\n'
                   f'role = "active"\nevidence = "unsourced"\nsources = []\n\n' for n in range(9000))
    path = tmp_path / "big-import.toml"
    path.write_text(rows, encoding="utf-8")
    assert LIMIT < path.stat().st_size < importer.MAX_IMPORT_BYTES
    outcome = meso("catalogue", "import", str(path), "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert len(json.loads(outcome.stdout)["substances"]) == 9000


def test_standard_input_over_the_limit_is_refused(meso):
    """`--patient -` with more than the limit on stdin is refused, naming the limit."""
    outcome = meso("check", "--patient", "-", "--ingredient", "lidocaine", "--json",
                   input=_padded_json(LIMIT + 10).decode())
    assert outcome.exit_code == 2 and "1 MiB) limit" in outcome.stderr


def test_an_import_over_the_limit_is_refused_through_the_python_api():
    """parse_import refuses text over the limit before TOML parsing, naming the limit."""
    text = _padded_toml(importer.MAX_IMPORT_BYTES + 1).decode()
    with pytest.raises(CatalogueDataError, match="32 MiB"):
        importer.parse_import(text, "clinic.toml")
    multibyte = "é" * (importer.MAX_IMPORT_BYTES // 2 + 1)  # few characters, many bytes
    with pytest.raises(CatalogueDataError, match="32 MiB"):
        importer.parse_import(f'pad = "{multibyte}"\n', "clinic.toml")


def _import_peak(path, url: str) -> tuple[str, int, str]:
    """Exit code, peak resident memory (KiB) and stderr of `meso catalogue import PATH` in a new process."""
    script = textwrap.dedent(f"""
        import resource
        from mesocli.cli.app import run
        code = run(["catalogue", "import", {str(path)!r}])
        print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "MESO_DATABASE_URL": url})
    code, peak = done.stdout.split()
    return code, int(peak), done.stderr


def test_a_huge_toml_file_is_refused_with_bounded_memory(tmp_path, clinic_database):
    """A 96 MB TOML import file (a 30 MB one once took half a minute to refuse) is refused by a
    real process that uses no more memory than for a file just over the limit."""
    pytest.importorskip("resource")
    row = b'[[substance]]\nid = "x"\nname = "x"\n'
    over = importer.MAX_IMPORT_BYTES + len(row)
    sizes = {"warm-up": over, "small": over, "huge": 96 * 1024 * 1024}
    peaks = {}
    for label, size in sizes.items():  # the first run may build caches: it is not compared
        path = tmp_path / f"{label}.toml"
        with path.open("wb") as out:  # in pieces: a child starts with its parent's peak memory
            for _ in range(size // len(row) // 1000 + 1):
                out.write(row * 1000)
        code, peaks[label], stderr = _import_peak(path, clinic_database)
        assert code == "2" and "32 MiB) limit" in stderr
    assert peaks["huge"] - peaks["small"] < 8 * 1024  # KiB: the 30 MB are never held


def test_a_batch_line_over_the_limit_is_an_error_document_and_the_run_goes_on(meso, tmp_path):
    """A batch line longer than MAX_LINE gets an error document naming the limit; the next runs."""
    from mesocli import batch

    path = tmp_path / "b.ndjson"
    good = json.dumps({"id": 2, "action": "check", "ingredients": ["ha-nonxl-booster"]})
    path.write_text('{"id": 1, "pad": "' + "x" * batch.MAX_LINE + '"}\n' + good + "\n", encoding="utf-8")
    results = [json.loads(line) for line in meso("batch", str(path)).stdout.splitlines()]
    assert results[0]["kind"] == "error" and str(batch.MAX_LINE) in results[0]["message"]
    assert results[1]["id"] == 2 and results[1]["kind"] == "check"
