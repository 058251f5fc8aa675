"""Attacks on ``meso batch``: text JSON can decode but not encode, huge worker counts, and a
machine out of descriptors or processes. Every line is answered or the run ends with one error
document and exit 4, never a traceback."""

from __future__ import annotations

import errno
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import batch
from mesocli.cli import batch_command

GOOD = {"action": "check", "ingredients": ["ha-nonxl-booster"]}
SURROGATES = ["\\ud800", "\\udfff", "\\udbff", "\\uDC00", "\\ud83d", "\\ude00x", "a\\ud800b"]
# Each template puts a surrogate escape (ESC) somewhere else in a request.
PLACES = [
    '{"id": "ESC", "action": "check", "ingredients": ["ha-nonxl-booster"]}',
    '{"id": 1, "action": "check", "ingredients": ["ESC"]}',
    '{"id": 2, "action": "check", "allergies": ["ESC"], "ingredients": ["ha-nonxl-booster"]}',
    '{"id": 3, "action": "ESC"}',
    '{"id": 4, "ESC": 1, "action": "check"}',
    '{"id": 5, "action": "check", "patient": {"allergies": ["ESC"]}, "ingredients": ["ha-nonxl-booster"]}',
    '{"id": 6, "action": "build", "indication": "ESC"}',
    '{"id": 7, "action": "check", "recipe": {"components": [{"id": "ESC", "volume": "1 mL"}]}}',
    '["ESC"]',
    '"ESC"',
]


def _run(meso, tmp_path, monkeypatch, text: str, workers: str):
    path = tmp_path / f"requests-{workers}.ndjson"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(batch_command, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setenv(batch_command.WORKERS_ENV, workers)
    return meso("batch", str(path))


def _pool_sizes() -> list[str]:
    return ["1", "2", "3"] if batch.fork_available() else ["1"]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("escape", SURROGATES)
def test_a_lone_surrogate_anywhere_is_an_error_document_for_its_line(meso, tmp_path, monkeypatch, place, escape):
    """A request holding a lone surrogate gets an error document naming its line; the lines around
    it are answered, in one process and in the pool alike."""
    line = place.replace("ESC", escape)
    text = "\n".join([json.dumps({"id": "before", **GOOD}), line, json.dumps({"id": "after", **GOOD})]) + "\n"
    outputs = set()
    for workers in _pool_sizes():
        outcome = _run(meso, tmp_path, monkeypatch, text, workers)
        assert "Traceback" not in outcome.stderr
        results = [json.loads(row) for row in outcome.stdout.splitlines()]
        assert len(results) == 3, outcome.stdout
        assert results[0]["id"] == "before" and results[2]["id"] == "after"
        assert results[1]["kind"] == "error" and results[1]["line"] == 2
        assert outcome.exit_code == 2
        outputs.add(outcome.stdout)
    assert len(outputs) == 1  # the pool writes what one process writes


def test_a_surrogate_pair_is_text_and_is_answered(meso, tmp_path, monkeypatch):
    """A well-formed pair (an emoji written as two escapes) is ordinary text, not refused."""
    text = '{"id": "\\ud83d\\ude00", "action": "check", "ingredients": ["ha-nonxl-booster"]}\n'
    outcome = _run(meso, tmp_path, monkeypatch, text, "1")
    [result] = [json.loads(row) for row in outcome.stdout.splitlines()]
    assert result["id"] == "\U0001F600" and result["kind"] == "check"


line_kinds = st.lists(st.tuples(st.sampled_from(["good", "bad", "blank"]), st.sampled_from(PLACES),
                                st.sampled_from(SURROGATES)), min_size=1, max_size=150)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kinds=line_kinds)
def test_no_answer_is_lost_whatever_mix_of_lines(meso, tmp_path, monkeypatch, kinds):
    """Every non-blank line gets exactly one answer, in order, surrogates or not, pool or not."""
    rows = []
    for index, (kind, place, escape) in enumerate(kinds):
        if kind == "good":
            rows.append(json.dumps({"id": index, **GOOD}))
        elif kind == "bad":
            rows.append(place.replace("ESC", escape))
        else:
            rows.append("")
    text = "\n".join(rows) + "\n"
    expected = [number for number, row in enumerate(rows, 1) if row.strip()]
    if not expected:
        return
    previous = None
    for workers in _pool_sizes():
        outcome = _run(meso, tmp_path, monkeypatch, text, workers)
        results = [json.loads(row) for row in outcome.stdout.splitlines()]
        assert len(results) == len(expected)
        for number, result in zip(expected, results, strict=True):
            if result["kind"] == "error":
                assert result["line"] == number
            else:
                assert result["id"] == number - 1
        assert previous is None or outcome.stdout == previous
        previous = outcome.stdout


@pytest.mark.parametrize("wanted", [-5, 0, 1, 2, 31, 32, 33, 10**6, 10**18])
def test_the_worker_count_is_bounded(wanted):
    """Whatever count is asked for, between 1 and MAX_WORKERS processes are started."""
    assert 1 <= batch.bounded_workers(wanted) <= batch.MAX_WORKERS
    assert batch.bounded_workers(wanted) == min(max(wanted, 1), batch.MAX_WORKERS)


def test_a_huge_worker_count_starts_only_the_bounded_number(meso, tmp_path, monkeypatch):
    """MESO_BATCH_WORKERS=1000000 starts MAX_WORKERS processes and answers every line."""
    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    forks = []
    real_fork = os.fork

    def counting_fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(batch, "MAX_WORKERS", 3)
    monkeypatch.setattr(os, "fork", counting_fork)
    text = "".join(json.dumps({"id": i, **GOOD}) + "\n" for i in range(300))
    outcome = _run(meso, tmp_path, monkeypatch, text, "1000000")
    assert outcome.exit_code == 0
    assert [json.loads(row)["id"] for row in outcome.stdout.splitlines()] == list(range(300))
    assert len(forks) == 3


@pytest.mark.parametrize(("call", "code", "reason"), [
    ("pipe", errno.EMFILE, "too many open files"), ("pipe", errno.ENFILE, "too many open files"),
    ("fork", errno.EAGAIN, "no more processes"), ("fork", errno.ENOMEM, "out of memory"),
])
@pytest.mark.parametrize("after", [0, 1])
def test_running_out_of_descriptors_or_processes_ends_with_exit_4_and_an_error_document(
        meso, tmp_path, monkeypatch, call, code, reason, after):
    """When a pipe or a process cannot be made, the batch stops with exit 4, an error document as
    its last line and one line on stderr naming the cause; no traceback."""
    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    real = getattr(os, call)
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) > after:
            raise OSError(code, os.strerror(code))
        return real(*args)

    monkeypatch.setattr(os, call, failing)
    text = "".join(json.dumps({"id": i, **GOOD}) + "\n" for i in range(50))
    outcome = _run(meso, tmp_path, monkeypatch, text, "4")
    assert outcome.exit_code == 4
    assert "Traceback" not in outcome.stderr and reason in outcome.stderr
    last = json.loads(outcome.stdout.splitlines()[-1])
    assert last["kind"] == "error" and last["code"] == 4 and reason in last["message"]


def test_a_worker_that_fails_ends_the_run_with_exit_4_not_a_traceback(meso, tmp_path, monkeypatch):
    """A worker that stops on an unexpected error is reported as exit 4 with its reason."""
    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")

    def broken(first, chunk):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(batch, "_answer_chunk", broken)
    text = "".join(json.dumps({"id": i, **GOOD}) + "\n" for i in range(20))
    outcome = _run(meso, tmp_path, monkeypatch, text, "2")
    assert outcome.exit_code == 4
    assert "Traceback" not in outcome.stderr and "Too many open files" in outcome.stderr
    assert json.loads(outcome.stdout.splitlines()[-1])["code"] == 4


@pytest.mark.parametrize("limit", [12, 16, 20])
def test_a_real_descriptor_limit_ends_with_exit_4_and_an_error_document(tmp_path, limit):
    """Under a real `ulimit -n`, a pool too large for it ends with exit 4, one error document as
    the last line, and a one-line message: no traceback."""
    resource = pytest.importorskip("resource")
    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    import subprocess
    import sys

    path = tmp_path / "requests.ndjson"
    path.write_text("".join(json.dumps({"id": i, **GOOD}) + "\n" for i in range(3000)), encoding="utf-8")

    def lower_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "mesocli", "batch", str(path)], capture_output=True, text=True,
                          timeout=300, check=False, preexec_fn=lower_limit,
                          env={**os.environ, batch_command.WORKERS_ENV: "16"})
    if done.returncode == 0:
        pytest.skip(f"{limit} descriptors were enough here")
    assert done.returncode in (3, 4), done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["kind"] == "error" and last["code"] == done.returncode
