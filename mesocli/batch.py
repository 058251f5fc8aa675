"""Batch mode: one NDJSON request per line in, one NDJSON result per line out, in order.

Each request is ``{"id": ..., "action": "build" | "check", ...}`` with the same fields as the
command-line options and the patient file. A line that is malformed or invalid yields an error
document carrying its line number, and the run goes on. Requests are processed one at a time,
so memory stays flat however long the input. Each request is answered afresh: the engine's
one memo (verdicts at the rule seam) is what makes recurring patients cheap.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from mesocli import strictjson
from mesocli.domain.catalogue import Catalogue
from mesocli.domain.request import request_from_mapping
from mesocli.errors import EXIT_FINDINGS, InputError, MesoError, WorkerError
from mesocli.render.jsontext import compact, compact_utf8

MAX_LINE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One answered line: its number, exit code and the result document (as NDJSON text)."""

    line: int
    exit_code: int
    request_id: Any
    body: str  # the document without its id, serialised as one NDJSON line

    @property
    def document(self) -> dict[str, Any]:
        return {"id": self.request_id, **json.loads(self.body)}

    def ndjson(self) -> str:
        """The result line as ``meso batch`` writes it (with its newline)."""
        return f'{{"id":{compact(self.request_id)},{self.body[1:]}\n'


def run_batch(lines: Iterable[str], catalogue: Catalogue) -> Iterator[BatchResult]:
    """Process NDJSON ``lines`` lazily; blank lines are skipped, every other line answered."""
    for number, raw in enumerate(lines, 1):
        result = answer_line(number, raw, catalogue)
        if result is not None:
            yield result


def answer_line(number: int, raw: str, catalogue: Catalogue) -> BatchResult | None:
    """Answer line ``number`` (``None`` for a blank line)."""
    answered = _answered(number, raw, catalogue)
    if answered is None:
        return None
    exit_code, request_id, body = answered
    return BatchResult(number, exit_code, request_id, body.decode())


def _answered(number: int, raw: str, catalogue: Catalogue) -> tuple[int, Any, bytes] | None:
    """What :func:`answer_line` gives, as (exit code, request id, body in UTF-8): a block of
    answers (:func:`answer_block`) needs no record of each, and writes the bytes as they are."""
    text = raw.strip()
    if not text:
        return None
    request_id: Any = None
    try:
        if len(text) > MAX_LINE or text == OVERLONG:
            raise InputError(f"line longer than {MAX_LINE} characters")
        if text == NOT_UTF8:
            raise InputError("line is not UTF-8 text")
        try:
            request = strictjson.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise InputError("JSON nested too deeply") from None
        if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(request):
            raise InputError("line holds a lone UTF-16 surrogate escape (such as \\ud800), which is not text")
        if not isinstance(request, dict):
            raise InputError("a request must be a JSON object")
        request_id = request.get("id")
        if request_id is not None and not isinstance(request_id, str | int):
            request_id = None
            raise InputError("'id' must be text or a number")
        exit_code, body = _answer(request, catalogue)
        return exit_code, request_id, body
    except MesoError as exc:
        from mesocli.render.documents import error_document

        return exc.exit_code, request_id, _body(error_document(exc.exit_code, exc.message, catalogue=catalogue,
                                                                line=number))


# JSON may escape half of a UTF-16 surrogate pair on its own ("\ud800"): it decodes to a string
# that no UTF-8 output can hold. Only a line with such an escape is searched for one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# ------------------------------------------------------------------------------- reading input
# No line of MAX_LINE characters is longer than this in UTF-8, so a longer line is refused
# without being held in memory.
MAX_LINE_BYTES = 4 * MAX_LINE
OVERLONG = "\x00overlong"  # stands for a line that was too long to read
NOT_UTF8 = "\x00not utf-8"  # stands for a line that is not UTF-8 text


def read_line(handle: BinaryIO) -> bytes:
    """The next line of ``handle`` (b"" at the end); a line longer than ``MAX_LINE_BYTES`` is
    skipped and comes back as ``OVERLONG`` (with its newline), so memory stays bounded."""
    line = handle.readline(MAX_LINE_BYTES + 1)
    if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
        return line
    while True:
        rest = handle.readline(MAX_LINE_BYTES)
        if not rest or rest.endswith(b"\n"):
            return OVERLONG.encode() + b"\n"


def decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8  # becomes an error document for that line


def lines_of(handle: BinaryIO) -> Iterator[str]:
    """The lines of a byte stream, read one at a time."""
    while line := read_line(handle):
        yield decode_line(line)


# ------------------------------------------------------------------------------- worker pool
CHUNK_LINES = 64  # lines per run answered as one block
PIPE_BYTES = 1024 * 1024  # answers a worker may have written ahead of the one being read

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Block:
    """The answers to a run of consecutive input lines, as ``meso batch`` writes them."""

    data: bytes  # the result lines, in input order, each with its newline, in UTF-8
    answered: int  # requests answered (blank lines are not requests)
    worst: int  # the highest exit code among them (0 when none)
    failed: int  # how many failed outright (exit code above EXIT_FINDINGS)
    first_failure: tuple[int, str] | None  # line number and message of the first of those


def answer_block(first: int, lines: Iterable[str], catalogue: Catalogue) -> Block:
    """Answer ``lines``, numbered from ``first``, into one :class:`Block`."""
    out: list[bytes | memoryview] = []  # each answer as its parts, joined once for the block
    answered_lines = worst = failed = 0
    first_failure = None
    for number, raw in enumerate(lines, first):
        answered = _answered(number, raw, catalogue)
        if answered is None:
            continue
        exit_code, request_id, body = answered
        # the line is {"id":<id>, then the document after its opening brace (see _body)
        out += (b'{"id":', compact_utf8(request_id), b",", memoryview(body)[1:], b"\n")
        answered_lines += 1
        worst = max(worst, exit_code)
        if exit_code > EXIT_FINDINGS:
            failed += 1
            if first_failure is None:
                first_failure = (number, str(json.loads(body).get("message", "")))
    return Block(b"".join(out), answered_lines, worst, failed, first_failure)


def fork_available() -> bool:
    """Whether worker processes can be forked (``os.fork``, which Windows lacks). Asked of
    ``os`` itself: importing multiprocessing to ask it would cost every run a few milliseconds."""
    return hasattr(os, "fork") and sys.platform != "win32"


def run_batch_parallel(handle: BinaryIO, catalogue: Catalogue, workers: int) -> Iterator[Block]:
    """Answer the NDJSON byte stream ``handle`` (a regular file) over ``workers`` forked processes.

    Gives what :func:`answer_block` gives for the whole input, in blocks, in input order. The
    input is cut into runs of ``CHUNK_LINES`` lines, and worker ``i`` of ``n`` answers runs
    ``i``, ``i + n``, ``i + 2n``, ...: each worker reads the file itself, at an offset of its
    own, and writes its answers to a pipe of its own. This process reads the pipes in turn and
    passes the answers on as they are: no request travels between processes, and no thread is
    needed. The catalogue is loaded before the fork, so the workers share it. A worker blocks
    once its pipe holds ``PIPE_BYTES`` not yet read, so memory stays flat however long the
    input.
    """
    import gc
    import pickle

    workers = bounded_workers(workers)
    _import_answering_modules()  # once here, shared by the workers, instead of once in each
    _WORKER["catalogue"] = catalogue
    start = handle.tell()
    gc.freeze()  # what exists now is shared with the workers; keep the collector off those pages
    pids: list[int] = []
    pipes: list[BinaryIO] = []
    try:
        for index in range(workers):
            try:
                read_end, write_end = os.pipe()
            except OSError as exc:
                raise _cannot_start(exc) from None
            pipes.append(os.fdopen(read_end, "rb"))
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(write_end)
                raise _cannot_start(exc) from None
            except BaseException:
                os.close(write_end)
                raise
            if pid == 0:  # the worker
                for pipe in pipes:
                    pipe.close()
                _worker_main(index, workers, handle, start, write_end)  # never returns
            os.close(write_end)
            pids.append(pid)
        run = 0
        while True:
            frame = _read_frame(pipes[run % workers])
            if frame is None:
                raise WorkerError("a batch worker process stopped unexpectedly (killed, or out of memory?); "
                                  "the results written so far are complete")
            kind, value = pickle.loads(frame)
            if kind == "end":
                return
            if kind == "failed":  # the last line of the worker's traceback says what went wrong
                lines = [line for line in str(value).splitlines() if line.strip()]
                raise WorkerError(f"a batch worker failed ({lines[-1].strip() if lines else 'no reason given'}); "
                                  "the results written so far are complete")
            yield value
            run += 1
    finally:
        for pipe in pipes:
            pipe.close()  # a worker still writing gets EPIPE and stops
        _reap(pids)
        _WORKER.clear()
        gc.unfreeze()


MAX_WORKERS = 32  # more processes than this only cost memory and descriptors


def bounded_workers(wanted: int) -> int:
    """The number of worker processes to start for ``wanted``: at least 1, at most ``MAX_WORKERS``."""
    return max(1, min(int(wanted), MAX_WORKERS))


def _cannot_start(exc: OSError) -> WorkerError:
    """The error that ends a batch whose workers cannot be started (no descriptors, no processes)."""
    import errno

    reason = {errno.EMFILE: "too many open files", errno.ENFILE: "too many open files in the system",
              errno.EAGAIN: "no more processes may be started", errno.ENOMEM: "out of memory"}.get(
        exc.errno or 0, exc.strerror or type(exc).__name__)
    return WorkerError(f"cannot start the batch worker processes ({reason}); lower MESO_BATCH_WORKERS "
                       "or raise the limit (ulimit -n, ulimit -u); no request was answered by them")


def _worker_main(index: int, workers: int, handle: BinaryIO, start: int, out_fd: int) -> None:
    """Answer runs ``index``, ``index + workers``, ... of the input into ``out_fd``, then exit."""
    import pickle

    status = 0
    out: BinaryIO | None = None
    try:
        _widen_pipe(out_fd)
        out = os.fdopen(out_fd, "wb")
        reader = _private_reader(handle, start)
        run = 0
        first = 1
        while True:
            lines = []
            for _ in range(CHUNK_LINES):
                line = read_line(reader)
                if not line:
                    break
                lines.append(line)
            if not lines:
                break
            if run % workers == index:
                _write_frame(out, pickle.dumps(("block", _answer_chunk(first, b"".join(lines))), -1))
            run += 1
            first += len(lines)
        _write_frame(out, pickle.dumps(("end", None), -1))
        out.close()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        status = 1  # the parent stopped reading: it has gone, or it is cleaning up
    except BaseException:  # a defect: the parent shows it
        import traceback

        status = 1
        if out is not None:
            with contextlib.suppress(Exception):  # the pipe is gone; the exit status still tells
                _write_frame(out, pickle.dumps(("failed", traceback.format_exc()), -1))
                out.close()
    finally:
        os._exit(status)  # no atexit handlers, no flushing of buffers copied from the parent


def _private_reader(handle: BinaryIO, start: int) -> BinaryIO:
    """A reader of ``handle`` from ``start`` that moves no other process's position.

    A forked process shares its parent's open file, offset included, so a file is read by
    ``os.pread`` at an offset kept here. An in-memory stream has no file and is this process's
    own copy already.
    """
    try:
        fd = handle.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        handle.seek(start)
        return handle
    return io.BufferedReader(_PositionalFile(fd, start), 256 * 1024)  # type: ignore[return-value]


class _PositionalFile(io.RawIOBase):
    """An open file read through ``os.pread`` from an offset of its own."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd, self.offset = fd, offset

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self.fd, len(buffer), self.offset)
        buffer[: len(data)] = data
        self.offset += len(data)
        return len(data)


def _widen_pipe(fd: int) -> None:
    """Let the pipe hold ``PIPE_BYTES``, so a worker can write ahead (Linux; elsewhere as is)."""
    import fcntl

    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]


def _write_frame(out: BinaryIO, payload: bytes) -> None:
    out.write(len(payload).to_bytes(8, "little"))
    out.write(payload)
    out.flush()


def _read_frame(pipe: BinaryIO) -> bytes | None:
    """The next frame a worker wrote, or ``None`` if the pipe ended before a whole one."""
    header = pipe.read(8)
    if len(header) < 8:
        return None
    size = int.from_bytes(header, "little")
    payload = pipe.read(size)
    return payload if len(payload) == size else None


def _reap(pids: Iterable[int]) -> None:
    """Wait for every worker; one still running (the run stopped early) is stopped first."""
    import signal

    for pid in pids:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if not done:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _import_answering_modules() -> None:
    import mesocli.api
    import mesocli.domain.dosing
    import mesocli.domain.formulate
    import mesocli.render.documents
    import mesocli.render.recipe  # noqa: F401


def _answer_chunk(first: int, chunk: bytes) -> Block:
    catalogue = _WORKER["catalogue"]
    try:
        lines: Iterable[str] = chunk.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = [decode_line(raw) for raw in chunk.split(b"\n")]
    return answer_block(first, lines, catalogue)


def _body(document: dict[str, Any]) -> bytes:
    # Every result document starts with schema_version and has no "id" of its own, so the id
    # can be put in front of the serialised document without serialising it again.
    assert document and "id" not in document
    return compact_utf8(document)


def _answer(request: Mapping[str, Any], catalogue: Catalogue) -> tuple[int, bytes]:
    """The exit code and the serialised result document (see :func:`_body`) for one request."""
    answering = _ANSWERING or _answering()
    asked = request_from_mapping(request, catalogue=catalogue)
    answer = answering[0](asked, catalogue)
    if asked.action == "check":
        return asked.exit_code(answer), _body(answering[1](answer, catalogue))
    return asked.exit_code(answer), _body(answering[2](asked, answer, catalogue))


_ANSWERING: list[Any] = []  # api.answer, check_document and answer_document, imported when first needed


def _answering() -> list[Any]:
    from mesocli.api import answer
    from mesocli.render.documents import answer_document, check_document

    _ANSWERING[:] = [answer, check_document, answer_document]
    return _ANSWERING
