"""Run ``meso`` as a real process with stdout and/or stderr on a pseudo-terminal.

What meso writes depends on whether its streams are terminals, which an in-process runner
cannot fake; these helpers give the process a real one and collect what it received.
"""

from __future__ import annotations

import errno
import os
import select
import subprocess
import sys
import threading
from dataclasses import dataclass

ANSI = b"\x1b["
SAFETY_LIMIT_SECONDS = 300  # a net against a hung process; nothing here measures time


@dataclass
class Run:
    code: int
    stdout: bytes  # what reached the stdout pipe (empty when stdout was the terminal)
    stderr: bytes  # what reached the stderr pipe (empty when stderr was the terminal)
    terminal: bytes  # everything the terminal received, with its "\r\n" line ends


def meso_env(**overrides: str | None) -> dict[str, str]:
    """The test environment for a colour terminal (no NO_COLOR, TERM=xterm-256color), with overrides;
    an override of None removes the variable."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "MESO_DATABASE_URL")}
    env.update(TERM="xterm-256color", COLUMNS="200")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mesocli", *args]


def run_piped(*args: str, env: dict[str, str]) -> Run:
    """Run meso with both output streams on pipes."""
    done = subprocess.run(command(*args), stdin=subprocess.DEVNULL, capture_output=True, env=env,
                          timeout=SAFETY_LIMIT_SECONDS)
    return Run(done.returncode, done.stdout, done.stderr, b"")


def run_on_terminal(*args: str, env: dict[str, str], stdout_tty: bool = False, stderr_tty: bool = False,
                    columns: int | None = None) -> Run:
    """Run meso with the chosen output streams on one pseudo-terminal and the others on pipes;
    ``columns`` sets the terminal's width (as a terminal emulator does, with TIOCSWINSZ)."""
    import pty

    assert stdout_tty or stderr_tty
    master, slave = pty.openpty()
    if columns is not None:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    try:
        proc = subprocess.Popen(command(*args), stdin=subprocess.DEVNULL,
                                stdout=slave if stdout_tty else subprocess.PIPE,
                                stderr=slave if stderr_tty else subprocess.PIPE, env=env)
    finally:
        os.close(slave)
    piped: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=name, s=stream: piped.__setitem__(n, s.read()))
               for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)) if stream is not None]
    for reader in readers:
        reader.start()
    terminal = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], SAFETY_LIMIT_SECONDS)
            if not ready:
                proc.kill()
                raise AssertionError("meso neither wrote to the terminal nor exited")
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # Linux: EIO once every copy of the terminal's other end is closed
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(master)
    code = proc.wait(timeout=SAFETY_LIMIT_SECONDS)
    for reader in readers:
        reader.join(SAFETY_LIMIT_SECONDS)
    return Run(code, piped.get("stdout", b""), piped.get("stderr", b""), bytes(terminal))
