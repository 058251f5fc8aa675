"""``meso batch``: NDJSON requests in, one result per line out, in order."""

from __future__ import annotations

import json

import pytest

REQUESTS = [
    {"id": "a", "action": "check", "allergies": ["lidocaine"], "ingredients": ["restylane-vital-lidocaine"]},
    {"id": "b", "action": "build", "indication": "hair-loss"},
    {"id": "c", "action": "check", "ingredients": ["ha-nonxl-booster"]},
]


def _ndjson(items: list[object]) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_results_keep_input_order_and_ids(meso):
    """Each request gets one result line, in input order, carrying its id and document kind."""
    out = meso("batch", "-", input=_ndjson(REQUESTS))
    results = _lines(out.stdout)
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert [r["kind"] for r in results] == ["check", "recipe", "check"]


def test_each_result_is_the_document_the_single_command_prints(meso):
    """A batch check result equals what ``meso check --json`` prints for the same request."""
    single = meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine", "--json").json()
    batched = _lines(meso("batch", "-", input=_ndjson(REQUESTS[:1])).stdout)[0]
    batched.pop("id")
    assert batched == single


def test_bad_lines_give_error_documents_with_line_numbers_and_the_run_goes_on(meso):
    """Malformed or invalid lines become error documents naming their line; later lines still run."""
    text = _ndjson(["not json", {"id": "x", "action": "frobnicate"},
                    {"id": "y", "action": "check", "allergies": ["nonsense"]}, REQUESTS[2]])
    results = _lines(meso("batch", "-", input=text).stdout)
    assert [(r["kind"], r.get("line")) for r in results[:3]] == [("error", 1), ("error", 2), ("error", 3)]
    assert results[1]["id"] == "x" and "action" in results[1]["message"]
    assert "nonsense" in results[2]["message"] and results[2]["code"] == 2
    assert results[3]["kind"] == "check" and results[3]["id"] == "c"


def test_blank_lines_are_skipped_and_line_numbers_count_them(meso):
    """Blank lines produce no output, but error line numbers still refer to the input file."""
    results = _lines(meso("batch", "-", input="\n\n{bad\n").stdout)
    assert len(results) == 1 and results[0]["line"] == 3


def test_exit_code_is_the_highest_per_line_code(meso):
    """The run exits with the worst line: 0 for clean checks, 1 for a finding, 2 for a bad line."""
    assert meso("batch", "-", input=_ndjson([REQUESTS[2]])).exit_code == 0
    assert meso("batch", "-", input=_ndjson(REQUESTS)).exit_code == 1
    assert meso("batch", "-", input=_ndjson([*REQUESTS, "oops"])).exit_code == 2


def test_request_fields_accept_the_option_spellings(meso):
    """Fields may be spelled as the options are ('allergy', 'treatment-area') or as in the patient file."""
    request = {"id": 1, "action": "check", "allergy": ["parabens"],
               "ingredient": ["lidocaine-2pct-md-methylparaben"]}
    result = _lines(meso("batch", "-", input=_ndjson([request])).stdout)[0]
    assert result["id"] == 1 and result["status"] == "contraindicated"


def test_a_missing_input_file_is_exit_2(meso, tmp_path):
    """A batch file that does not exist is one input error, exit 2."""
    out = meso("batch", str(tmp_path / "missing.ndjson"))
    assert out.exit_code == 2 and "no such file" in out.stderr


def test_results_stream_line_by_line(catalogue):
    """run_batch yields each result before reading the next request (input is consumed lazily)."""
    from mesocli.batch import run_batch

    consumed: list[int] = []

    def lines():
        for number, request in enumerate(REQUESTS, 1):
            consumed.append(number)
            yield json.dumps(request)

    results = run_batch(lines(), catalogue)
    first = next(results)
    assert first.document["id"] == "a" and consumed == [1]


def _mixed_requests(count: int) -> list[object]:
    """Checks, builds, bad lines and blank lines, in a fixed order."""
    items: list[object] = []
    for number in range(count):
        kind = number % 7
        if kind == 0:
            items.append({"id": number, "action": "build", "indication": "hair-loss",
                          "allergies": ["lidocaine"] if number % 2 else []})
        elif kind == 1:
            items.append("{not json")
        elif kind == 2:
            items.append("")
        elif kind == 3:
            items.append({"id": f"r{number}", "action": "check", "allergies": ["nonsense-term"]})
        else:
            items.append({"id": f"r{number}", "action": "check", "age": 20 + number % 60,
                          "ingredients": [["ha-nonxl-booster"], ["restylane-vital-lidocaine"],
                                          ["lidocaine-2pct-md-methylparaben", "hyaluronic-acid"]][number % 3]})
    return items


def test_the_worker_pool_gives_the_same_lines_in_the_same_order(catalogue, monkeypatch):
    """Answered by forked workers in small chunks, a batch gives exactly the in-process output."""
    import io

    from mesocli import batch

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    monkeypatch.setattr(batch, "CHUNK_LINES", 5)
    text = _ndjson(_mixed_requests(300))
    alone = "".join(r.ndjson() for r in batch.run_batch(text.splitlines(keepends=True), catalogue))
    blocks = list(batch.run_batch_parallel(io.BytesIO(text.encode()), catalogue, 2))
    assert len(blocks) == 60  # 300 lines in chunks of 5, blank ones included
    assert b"".join(b.data for b in blocks) == alone.encode()
    whole = batch.answer_block(1, text.split("\n"), catalogue)
    assert sum(b.answered for b in blocks) == whole.answered == alone.count("\n")
    assert max(b.worst for b in blocks) == whole.worst == 2
    assert sum(b.failed for b in blocks) == whole.failed
    assert next(b.first_failure for b in blocks if b.first_failure) == whole.first_failure
    assert whole.first_failure is not None and whole.first_failure[0] == 2
    assert [json.loads(x)["line"] for x in alone.splitlines() if '"kind":"error"' in x][:2] == [2, 4]


def test_the_pool_reads_a_file_from_where_it_stands_and_moves_no_one_elses_position(catalogue, monkeypatch,
                                                                                   tmp_path):
    """Workers read the file at offsets of their own: the answers start where the handle stood
    (numbered from there), and the open file's position is left as it was."""
    import io
    import os

    from mesocli import batch

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    monkeypatch.setattr(batch, "CHUNK_LINES", 25)
    text = _ndjson(_mixed_requests(700))
    assert len(text) > 4 * io.DEFAULT_BUFFER_SIZE  # more than a buffer holds: the workers read the file
    path = tmp_path / "requests.ndjson"
    path.write_text(text, encoding="utf-8")
    rest = text.split("\n", 1)[1]
    with path.open("rb") as handle:
        handle.readline()  # a caller has read the first line already
        offset = os.lseek(handle.fileno(), 0, os.SEEK_CUR)
        blocks = list(batch.run_batch_parallel(handle, catalogue, 3))
        assert os.lseek(handle.fileno(), 0, os.SEEK_CUR) == offset
        assert handle.read() == rest.encode()
    alone = "".join(r.ndjson() for r in batch.run_batch(rest.splitlines(keepends=True), catalogue))
    assert b"".join(b.data for b in blocks) == alone.encode()
    assert sum(b.answered for b in blocks) == alone.count("\n") > 0


_REAL_ANSWER_CHUNK = None


def _defective_chunk(first, chunk):
    if first > 1:
        raise ValueError("a defect while answering")
    return _REAL_ANSWER_CHUNK(first, chunk)


def test_a_defect_in_a_worker_surfaces_in_the_parent_with_its_reason(catalogue, monkeypatch):
    """An unexpected exception in a worker reaches the caller as a WorkerError (exit 4) naming
    the exception, after the runs answered before it."""
    import io

    from mesocli import batch

    global _REAL_ANSWER_CHUNK
    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    _REAL_ANSWER_CHUNK = batch._answer_chunk
    monkeypatch.setattr(batch, "CHUNK_LINES", 2)
    monkeypatch.setattr(batch, "_answer_chunk", _defective_chunk)
    blocks = batch.run_batch_parallel(io.BytesIO(_ndjson([REQUESTS[2]] * 6).encode()), catalogue, 2)
    assert next(blocks).answered == 2
    from mesocli.errors import WorkerError

    with pytest.raises(WorkerError, match="ValueError: a defect while answering"):
        next(blocks)


def _children() -> set[int]:
    import os
    from pathlib import Path

    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_run_stopped_early_leaves_no_worker_behind(catalogue, monkeypatch):
    """A caller that stops reading (the output pipe closed, say) ends the workers with it."""
    import io
    import os
    from pathlib import Path

    from mesocli import batch

    if not batch.fork_available() or not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("needs fork and Linux /proc to see the workers")
    monkeypatch.setattr(batch, "CHUNK_LINES", 2)
    before = _children()
    blocks = batch.run_batch_parallel(io.BytesIO(_ndjson(_mixed_requests(400)).encode()), catalogue, 2)
    next(blocks)
    workers = _children() - before
    assert len(workers) == 2
    blocks.close()
    for pid in workers:
        with pytest.raises(ProcessLookupError):  # ended and reaped: not even a zombie is left
            os.kill(pid, 0)


def test_a_repeated_request_gets_the_same_answer_with_its_own_id(catalogue):
    """Requests are answered afresh each time: the same request later in the input gets the same
    document (the engine is deterministic), with the id of its own line."""
    from mesocli import batch

    request = {"action": "check", "ingredients": ["ha-nonxl-booster"], "weight": "39 kg", "allergies": ["lidocaine"]}
    first = batch.answer_line(1, json.dumps({"id": "first", **request}), catalogue)
    for n in range(20):  # other patients in between
        batch.answer_line(n + 2, json.dumps({"id": n, **request, "weight": f"{40 + n} kg"}), catalogue)
    again = batch.answer_line(99, json.dumps({"id": "again", **request}), catalogue)
    assert (again.exit_code, again.body) == (first.exit_code, first.body)
    assert (first.request_id, again.request_id) == ("first", "again")
    assert json.loads(again.ndjson())["id"] == "again"


def test_lines_split_only_at_newlines_in_both_paths(meso, tmp_path, monkeypatch):
    """Other Unicode line breaks (U+2028, form feed, a lone CR) stay inside their line, so
    line numbers mean the same thing with and without the worker pool."""
    from mesocli import batch
    from mesocli.cli import batch_command

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    text = ('{"id": "x\u2028y",\r"action": "check", "ingredients": ["ha-nonxl-booster"]}\n'
            '{bad\x0c\x85\n'
            '{"id": "z", "action": "check", "ingredients": ["ha-nonxl-booster"]}\n')
    path = tmp_path / "odd.ndjson"
    path.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr(batch_command, "PARALLEL_MIN_BYTES", 1)
    outputs = {}
    for workers in ("1", "2"):
        monkeypatch.setenv(batch_command.WORKERS_ENV, workers)
        outputs[workers] = meso("batch", str(path))
    assert outputs["1"].stdout == outputs["2"].stdout
    results = [json.loads(line) for line in outputs["2"].stdout.split("\n") if line]
    assert [r.get("id") for r in results] == ["x\u2028y", None, "z"]
    assert results[1]["line"] == 2


def test_an_overlong_line_is_refused_without_reading_it_into_memory(meso, tmp_path, monkeypatch):
    """A line over the limit becomes an error document for its line; the lines after it run."""
    from mesocli import batch
    from mesocli.cli import batch_command

    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "long.ndjson"
    path.write_text(_ndjson([REQUESTS[2], '{"id": "' + "x" * 5000 + '"}', REQUESTS[2]]), encoding="utf-8")
    for workers in ("1", "2"):
        monkeypatch.setattr(batch_command, "PARALLEL_MIN_BYTES", 1)
        monkeypatch.setenv(batch_command.WORKERS_ENV, workers)
        results = _lines(meso("batch", str(path)).stdout)
        assert [r["kind"] for r in results] == ["check", "error", "check"]
        assert results[1]["line"] == 2 and "longer than" in results[1]["message"]


def test_a_line_that_is_not_utf8_is_named_as_such(meso, tmp_path):
    """Invalid UTF-8 on one line gives that line an error document saying so."""
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(_ndjson([REQUESTS[2]]).encode() + b'{"id": "caf\xe9"}\n')
    outcome = meso("batch", str(path))
    results = _lines(outcome.stdout)
    assert results[1]["line"] == 2 and results[1]["message"] == "line is not UTF-8 text"
    assert outcome.exit_code == 2


def test_a_large_batch_file_uses_workers_and_prints_what_one_process_prints(meso, tmp_path, monkeypatch):
    """``meso batch FILE`` on a large file gives byte-identical output with and without the pool."""
    from mesocli import batch
    from mesocli.cli import batch_command

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    path = tmp_path / "requests.ndjson"
    path.write_text(_ndjson(_mixed_requests(700)), encoding="utf-8")
    monkeypatch.setattr(batch_command, "PARALLEL_MIN_BYTES", path.stat().st_size)
    monkeypatch.setenv(batch_command.WORKERS_ENV, "1")
    assert batch_command._workers(str(path)) == 1
    single = meso("batch", str(path))
    monkeypatch.setenv(batch_command.WORKERS_ENV, "2")
    assert batch_command._workers(str(path)) == 2
    pooled = meso("batch", str(path))
    assert pooled.stdout == single.stdout and pooled.exit_code == single.exit_code == 2
    assert len(pooled.stdout.splitlines()) == 600  # every seventh line is blank


def test_standard_input_is_answered_line_by_line(monkeypatch):
    """A pipe is never sent to workers: a client may wait for each answer before writing more."""
    from mesocli.cli import batch_command

    monkeypatch.setenv(batch_command.WORKERS_ENV, "4")
    reader, writer = __import__("os").pipe()
    try:
        monkeypatch.setattr("sys.stdin", open(reader, closefd=False))  # noqa: SIM115
        assert batch_command._workers("-") == 1
    finally:
        __import__("os").close(reader)
        __import__("os").close(writer)


def test_the_result_line_is_the_document_serialised(catalogue):
    """``BatchResult.ndjson()`` is the document as compact JSON, id first."""
    from mesocli.batch import run_batch

    for result in run_batch([json.dumps(r) for r in REQUESTS] + ["[1]"], catalogue):
        expected = json.dumps(result.document, ensure_ascii=False, separators=(",", ":")) + "\n"
        assert result.ndjson() == expected


def test_a_client_on_a_pipe_gets_each_answer_before_it_sends_the_next_request():
    """Over a pipe, every answer is written out at once: a client can talk to meso request by
    request (this would hang, and time out, if answers waited in a buffer)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered
    process = subprocess.Popen([sys.executable, "-m", "mesocli", "batch", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        answers = []
        for request in REQUESTS:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            line = _readline_within(process.stdout, seconds=60)
            answers.append(json.loads(line)["id"])
        process.stdin.close()
        assert process.wait(timeout=60) == 1
        assert answers == ["a", "b", "c"]
    finally:
        process.kill()


def _readline_within(stream, seconds: float) -> bytes:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout=seconds), "no answer arrived"
    return stream.readline()


def _dying_chunk(first, chunk):  # a worker that is killed on its second task
    import os

    from mesocli import batch

    if first > 1:
        os._exit(9)
    return batch.answer_block(first, chunk.decode().split("\n"), batch._WORKER["catalogue"])


def test_a_worker_that_dies_stops_the_run_with_exit_4_instead_of_hanging(meso, tmp_path, monkeypatch):
    """If a worker process is killed, meso batch says so (exit 4) after the complete lines it has."""
    from mesocli import batch
    from mesocli.cli import batch_command

    if not batch.fork_available():
        pytest.skip("no fork start method on this platform")
    monkeypatch.setattr(batch, "CHUNK_LINES", 2)
    monkeypatch.setattr(batch, "_answer_chunk", _dying_chunk)
    monkeypatch.setattr(batch_command, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setenv(batch_command.WORKERS_ENV, "2")
    path = tmp_path / "requests.ndjson"
    path.write_text(_ndjson([REQUESTS[2]] * 6), encoding="utf-8")
    outcome = meso("batch", str(path))
    assert outcome.exit_code == 4, outcome.stdout[:3000]
    assert outcome.stderr.startswith("meso: error: a batch worker process stopped unexpectedly")
    lines = _lines(outcome.stdout)
    # The first run of lines is answered before the pool breaks, unless the pool broke first.
    assert [r["kind"] for r in lines] in (["check", "check", "error"], ["error"])
    assert lines[-1]["code"] == 4
    assert all(_valid_line(line) for line in lines)


def test_a_batch_that_fails_as_a_whole_still_writes_one_line_per_document(meso):
    """An error for the whole run is an NDJSON line too, not an indented document."""
    outcome = meso("batch", "-", input="\n\n")
    assert outcome.exit_code == 2
    assert outcome.stdout.count("\n") == 1
    assert json.loads(outcome.stdout)["message"].endswith("has no requests (it is empty or blank)")
    assert _valid_line(json.loads(outcome.stdout))
    assert meso("check", "--allergy", "nonsense", "--json").stdout.count("\n") > 1  # elsewhere: indented


def _valid_line(document: dict) -> bool:
    from tests.schemas.test_schemas import problems

    assert problems("batch", document) == [], document
    return True


def test_a_number_too_long_for_python_is_an_error_line_not_a_crash(meso):
    """Python refuses to read a whole number of more than 4,300 digits; that line is refused."""
    text = _ndjson(['{"action": "check", "age": ' + "9" * 5000 + "}", REQUESTS[2]])
    outcome = meso("batch", "-", input=text)
    results = _lines(outcome.stdout)
    assert [r["kind"] for r in results] == ["error", "check"]
    assert "thousands of digits" in results[0]["message"] and outcome.exit_code == 2
