"""Attacks on what meso writes: ``-o`` through links, onto a full disk, to odd names, and a
reader that goes away.

``-o FILE`` writes a temporary file next to FILE and renames it: never half a file, never
through a link; ``-o -`` is standard output; a full disk leaves the previous file intact and
says "disk full"; a file name that is not UTF-8 is shown escaped; ``meso ... | head -1``
exits 0 quietly.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.cli import io as cli_io
from mesocli.errors import InputError

BUILD = ("build", "--indication", "hair-loss")
FORMATS = ["table", "json", "markdown", "fhir"]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_holds_exactly_what_stdout_would(meso, tmp_path, fmt):
    """`-o FILE` writes what the command prints, and nothing to stdout."""
    printed = meso(*BUILD, "--format", fmt)
    target = tmp_path / "card.out"
    written = meso(*BUILD, "--format", fmt, "-o", str(target))
    assert written.exit_code == printed.exit_code == 0
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_dash_is_standard_output(meso, tmp_path, fmt, monkeypatch):
    """`-o -` prints to stdout and creates no file called '-'."""
    monkeypatch.chdir(tmp_path)
    assert meso(*BUILD, "--format", fmt, "-o", "-").stdout == meso(*BUILD, "--format", fmt).stdout
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("fmt", ["json", "markdown"])
@pytest.mark.parametrize("link_to", ["existing", "missing", "dangling-dir"])
def test_output_never_goes_through_a_link(meso, tmp_path, fmt, link_to):
    """A link at the output path is replaced by the new file; what it pointed at is untouched."""
    victim = tmp_path / "victim"
    if link_to == "existing":
        victim.write_text("precious", encoding="utf-8")
    elif link_to == "dangling-dir":
        victim = tmp_path / "nowhere" / "victim"
    target = tmp_path / "card.md"
    target.symlink_to(victim)
    outcome = meso(*BUILD, "--format", fmt, "-o", str(target))
    assert outcome.exit_code == 0, outcome.stderr
    assert not target.is_symlink() and target.read_text(encoding="utf-8")
    if link_to == "existing":
        assert victim.read_text(encoding="utf-8") == "precious"
    else:
        assert not victim.exists()


@pytest.mark.parametrize("failing", ["write", "fsync", "replace", "mkstemp"])
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_leaves_the_previous_file_intact_and_says_disk_full(meso, tmp_path, monkeypatch,
                                                                         failing, code):
    """When the disk fills at any step, the old file is unchanged, no temporary file is left,
    and the message says 'disk full' (exit 2)."""
    target = tmp_path / "card.md"
    target.write_text("the previous card\n", encoding="utf-8")

    def full(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    if failing == "write":
        real_fdopen = os.fdopen

        class _Full:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                full()

            def __getattr__(self, name):
                return getattr(self.handle, name)

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _Full(real_fdopen(fd, *a, **k)))
    elif failing == "mkstemp":
        import tempfile

        monkeypatch.setattr(tempfile, "mkstemp", full)
    else:
        monkeypatch.setattr(os, failing, full)
    outcome = meso(*BUILD, "--format", "markdown", "-o", str(target))
    monkeypatch.undo()
    assert outcome.exit_code == 2
    assert "disk full" in outcome.stderr and "Traceback" not in outcome.stderr
    assert target.read_text(encoding="utf-8") == "the previous card\n"
    assert _leftovers(tmp_path) == []


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=st.text(max_size=200), new=st.text(max_size=2000), fail_at=st.sampled_from([None, "fsync", "replace"]))
def test_write_output_gives_the_whole_new_text_or_keeps_the_old(tmp_path_factory, old, new, fail_at):
    """For any texts, the file afterwards holds exactly the new text, or (on failure) exactly the
    old one, and no temporary file remains."""
    folder = tmp_path_factory.mktemp("out")
    target = folder / "file.txt"
    target.write_bytes(old.encode("utf-8", "surrogatepass"))
    before = target.read_bytes()
    real = getattr(os, fail_at) if fail_at else None
    if fail_at:
        def broken(*args):
            raise OSError(errno.ENOSPC, "No space left on device")
        setattr(os, fail_at, broken)
    try:
        cli_io.write_output(target, new.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    except InputError as exc:
        assert fail_at and "disk full" in exc.message
        assert target.read_bytes() == before
    else:
        assert fail_at is None
        written = new.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        assert target.read_bytes() == written.encode("utf-8")  # bytes: line ends as written, never translated
    finally:
        if fail_at:
            setattr(os, fail_at, real)
    assert _leftovers(folder) == []


@pytest.mark.parametrize("where", ["directory", "missing-parent", "read-only-dir"])
def test_unwritable_outputs_are_refused_with_exit_2(meso, tmp_path, where):
    """A directory, a missing folder or a folder without write permission is one clear error."""
    if where == "directory":
        target = tmp_path
    elif where == "missing-parent":
        target = tmp_path / "no" / "such" / "card.md"
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores permissions")
        folder = tmp_path / "ro"
        folder.mkdir()
        os.chmod(folder, 0o500)
        target = folder / "card.md"
    outcome = meso(*BUILD, "--format", "markdown", "-o", str(target))
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("meso: error: --output: ") and "Traceback" not in outcome.stderr


def test_the_catalogue_export_is_written_atomically_too(meso, tmp_path):
    """`meso catalogue export -o FILE` replaces a link rather than writing through it."""
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    target = tmp_path / "export.toml"
    target.symlink_to(victim)
    assert meso("catalogue", "export", "--all", "-o", str(target)).exit_code == 0
    assert victim.read_text(encoding="utf-8") == "precious"
    assert "[[substance]]" in target.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- names that are not UTF-8
NAMES = [b"card\xff.md", b"\xe9t\xe9.json", b"\x80", b"ok\xc3(.md", b"new\nline\x1b[31m.md"]


@pytest.mark.parametrize("raw", NAMES)
def test_a_name_that_is_not_utf8_is_written_and_shown_escaped(tmp_path, raw):
    """An output name with bytes that are not UTF-8 is written under exactly that name; a
    message about a missing input of such a name shows it escaped, with no traceback."""
    if sys.platform == "win32":
        pytest.skip("POSIX file names")
    folder = os.fsencode(tmp_path)
    target = os.path.join(folder, raw)
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-m", "mesocli", *BUILD, "--format", "json", "-o", target],
                          env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(Path(os.fsdecode(target)).read_text(encoding="utf-8"))["kind"] == "recipe"
    missing = os.path.join(folder, b"missing-" + raw)
    done = subprocess.run([sys.executable, "-m", "mesocli", "check", "--recipe", missing, "--json"],
                          env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
    document = json.loads(done.stdout.decode("utf-8"))  # stdout stays valid UTF-8
    assert document["kind"] == "error" and "no such file" in document["message"]
    assert "\\x" in document["message"] or "\\n" in document["message"]
    assert b"\x1b" not in done.stderr and b"\xff" not in done.stderr


@pytest.mark.parametrize("raw", NAMES)
def test_show_path_is_printable_utf8_for_any_name(raw):
    """show_path gives printable UTF-8 text for any byte name."""
    shown = cli_io.show_path(os.fsdecode(raw))
    shown.encode("utf-8")
    assert shown.isprintable()


@given(name=st.binary(min_size=1, max_size=40))
def test_show_path_never_fails(name):
    """Whatever bytes a name holds, show_path returns printable text that encodes as UTF-8."""
    shown = cli_io.show_path(os.fsdecode(name))
    shown.encode("utf-8")
    assert shown.isprintable()


# ---------------------------------------------------------------------------- a reader that goes away
CLOSED_PIPE_COMMANDS = [
    ("ingredients", "list"), ("ingredients", "list", "--json"), BUILD, (*BUILD, "--format", "json"),
    (*BUILD, "--format", "markdown"), (*BUILD, "--format", "fhir"), (*BUILD, "--explain"),
    ("products", "list"), ("allergens", "list"), ("check", "--ingredient", "lidocaine", "--json"),
    ("catalogue", "export", "--all"), ("--help",),
]


@pytest.mark.parametrize("args", CLOSED_PIPE_COMMANDS, ids=" ".join)
def test_a_closed_pipe_exits_0_quietly(args):
    """`meso ... | head -c 1`: the reader goes away after one byte; meso exits 0 with nothing on stderr."""
    process = subprocess.Popen([sys.executable, "-m", "mesocli", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "80"})
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(1)
    process.stdout.close()
    code = process.wait(timeout=300)
    stderr = process.stderr.read()
    process.stderr.close()
    assert (code, stderr) == (0, b"")


def test_a_closed_pipe_in_batch_exits_0_quietly(tmp_path):
    """`meso batch FILE | head -1` exits 0 quietly too."""
    path = tmp_path / "requests.ndjson"
    path.write_text("".join(json.dumps({"id": i, "action": "build", "indication": "hair-loss"}) + "\n"
                            for i in range(200)), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "mesocli", "batch", str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    code = process.wait(timeout=300)
    stderr = process.stderr.read()
    process.stderr.close()
    assert (code, stderr) == (0, b"")


@pytest.mark.parametrize("raw", NAMES)
def test_error_documents_stay_valid_utf8_for_any_file_name(tmp_path, raw):
    """An error document naming a file whose name is not UTF-8 is still valid UTF-8 JSON."""
    if sys.platform == "win32":
        pytest.skip("POSIX file names")
    path = os.path.join(os.fsencode(tmp_path), b"empty-" + raw)
    with open(path, "wb") as handle:
        handle.write(b"\n\n")
    done = subprocess.run([sys.executable, "-m", "mesocli", "batch", path], capture_output=True, timeout=300,
                          check=False)
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    document = json.loads(done.stdout.decode("utf-8"))
    assert document["kind"] == "error" and "no requests" in document["message"]
    assert b"\x1b" not in done.stdout and b"\xff" not in done.stdout  # escaped by JSON or shown as \xff


@given(text=st.text(max_size=30), raw=st.binary(max_size=10))
def test_write_json_always_writes_valid_utf8(text, raw):
    """Whatever strings a document holds (lone surrogates from file names included), write_json
    writes text that encodes as UTF-8 and parses back."""
    import io

    stream = io.StringIO()
    cli_io.write_json({"message": text + os.fsdecode(raw), os.fsdecode(raw) or "k": [os.fsdecode(raw)]}, stream)
    written = stream.getvalue()
    written.encode("utf-8")
    json.loads(written)


def test_catalogue_export_to_dash_is_standard_output(meso, tmp_path, monkeypatch):
    """`meso catalogue export --all -o -` prints what plain export prints, and makes no file '-'."""
    monkeypatch.chdir(tmp_path)
    dashed = meso("catalogue", "export", "--all", "-o", "-")
    assert dashed.exit_code == 0 and "[[substance]]" in dashed.stdout
    assert dashed.stdout == meso("catalogue", "export", "--all").stdout
    assert not (tmp_path / "-").exists()
