"""The ``meso`` command: sub-apps per noun, verbs for the main jobs, one error boundary.

The exit codes are listed in :data:`HELP` (``meso --help``) and are those of
:mod:`mesocli.errors`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

import typer

from mesocli import __version__
from mesocli.cli import batch_command, catalogue_commands, clinic_commands, completion, db_commands, verbs
from mesocli.cli.io import OutputState, closed_pipe, reader_gone, unwritable, write_json
from mesocli.errors import EXIT_INPUT, MesoError

HELP = """Formulate mesotherapy cocktails and check them for safety, from a sourced catalogue.

meso is decision support for qualified practitioners: it does not replace clinical judgement.

\b
Examples:
  meso build --indication hair-loss --volume "2 mL"
  meso check --allergy lidocaine --ingredient restylane-vital-lidocaine
  meso check --patient patient.json --recipe recipe.json --json -o result.json
  meso batch requests.ndjson > results.ndjson
  meso ingredients list --class vitamin --format csv

\b
Output: --format table|json|csv|markdown|fhir where each makes sense (--json is
--format json), -o FILE to save it (-o - is standard output). Every JSON document
carries meso_version and the catalogue's identity; 'meso schema NAME' prints its schema.

\b
Exit codes:
  0  OK: nothing at or above --fail-on (or the command succeeded)
  1  findings at or above --fail-on, or a refused recipe
  2  usage error or invalid input (unknown name or key, bad unit, malformed file)
  3  catalogue or database unavailable (missing, damaged, wrong schema revision)
  4  out of a resource: a batch worker process stopped (killed, out of memory), results
     written so far are complete; or standard output could not be written (disk full)
  130  interrupted (Ctrl-C)
"""

app = typer.Typer(
    name="meso",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meso {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Formulate mesotherapy cocktails and check them for safety."""


catalogue_commands.register(app)
db_commands.register(app)
verbs.register(app)
batch_command.register(app)
clinic_commands.register(app)
completion.register(app)


def _wants_json(argv: Sequence[str]) -> bool:
    args = list(argv)
    from mesocli.cli.output import MACHINE

    machine = (*MACHINE, "ndjson")
    if "--json" in args or any(f"--format={m}" in args for m in machine):
        return True
    return any(a == "--format" and i + 1 < len(args) and args[i + 1] in machine for i, a in enumerate(args))


def _wants_fhir(argv: Sequence[str]) -> bool:
    """``--format fhir`` (and no ``--json``, which wins): an error is then an OperationOutcome."""
    args = list(argv)
    if "--json" in args:
        return False
    return "--format=fhir" in args or any(a == "--format" and i + 1 < len(args) and args[i + 1] == "fhir"
                                          for i, a in enumerate(args))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code; every error is translated here."""
    args = list(sys.argv[1:] if argv is None else argv)
    OutputState.json = _wants_json(args)
    OutputState.ndjson = False
    fhir = _wants_fhir(args)
    api = sys.modules.get("mesocli.api")  # imported only if an earlier run in this process used it
    if api is not None:
        api.forget_loaded()
    try:
        result = app(args=args, prog_name="meso", standalone_mode=False)
    except MesoError as exc:
        return _fail(exc.exit_code, exc.message, fhir=fhir)
    except typer.TyperException as exc:  # click's usage errors
        code = getattr(exc, "exit_code", EXIT_INPUT)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help is the answer
            exc.show()
            return code
        text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = "; ".join(line.strip() for line in text.splitlines() if line.strip()) + _help_hint(exc)
        return _fail(code, message, fhir=fhir)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except OSError as exc:
        # Standard output could not be written: the reader went away (e.g. `meso ... | head`),
        # which is not an error of ours, or a full disk, which is never exit 1.
        return unwritable(exc)
    except SystemExit as exc:  # click turns a closed pipe into exit 1 even when not standalone
        if closed_pipe(exc):
            return reader_gone()
        raise
    return result if isinstance(result, int) else 0


def _help_hint(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return ""
    return f" (see '{ctx.command_path} -h')"


def _fail(code: int, message: str, *, fhir: bool = False) -> int:
    from mesocli.render.human import visible  # a message quotes what was typed: no raw control character

    sys.stderr.write(f"meso: error: {visible(message)}\n")
    if fhir:  # the FHIR contract: an error is an R4 OperationOutcome on stdout
        from mesocli.render.fhir import operation_outcome

        write_json(operation_outcome(code, message))
    elif OutputState.json:
        from mesocli.render.documents import error_document

        api = sys.modules.get("mesocli.api")  # not imported: no catalogue was read
        write_json(error_document(code, message, catalogue=api.loaded_catalogue() if api is not None else None))
    return code


def main() -> None:
    """Console-script entry point."""
    _leave(run())


def _leave(code: int) -> None:
    """End the process with ``code`` once its work is done, without taking the interpreter
    apart object by object: freeing a loaded catalogue costs about half as long as loading it
    (40 ms with 10,000 clinic products, 0.6 s with 100,000), and nothing needs it.

    What an ordinary exit does that matters is done first: the functions registered to run at
    exit run, and standard output and error are flushed (a reader that went away is no error,
    as in :func:`run`). With another thread still running, the ordinary exit waits for it.
    """
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except ValueError:  # closed: nothing is left to write
        pass
    except OSError as exc:
        code = unwritable(exc)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    os._exit(code)
