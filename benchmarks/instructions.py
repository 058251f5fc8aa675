"""Count the instructions one batch request costs, with valgrind: a figure that does not drift
with the load of a shared machine, for comparing two versions of meso.

Usage (from the repository root, with meso installed and valgrind on the PATH)::

    python benchmarks/instructions.py                 # check requests (about a minute)
    python benchmarks/instructions.py --action build  # build requests

It writes the batch benchmark's own generated requests (``generate.write_batch``, the same seed
as ``run.py``), answers the first ``--count`` of them in one process the way a batch worker
does (blocks of ``batch.CHUNK_LINES`` lines) under ``valgrind --tool=callgrind``, does the same
with a single request, and prints the difference divided by the number of requests: the
thousands of instructions one request costs, start-up and catalogue loading left out. To
compare two versions, run it in each (their own installs): the counts repeat to within a
fraction of a percent. Everything happens in a temporary directory with its own ``MESO_HOME``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

ANSWER = """\
import sys
from mesocli import batch
from mesocli.api import load_catalogue

catalogue = load_catalogue()
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()[: int(sys.argv[2])]
for start in range(0, len(lines), batch.CHUNK_LINES):
    batch.answer_block(start + 1, lines[start:start + batch.CHUNK_LINES], catalogue)
"""


def collected(script: Path, requests: Path, count: int, env: dict[str, str]) -> int:
    """The instructions valgrind counts for answering the first ``count`` requests."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(script),
         str(requests), str(count)],
        env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--action", choices=("check", "build"), default="check")
    parser.add_argument("--count", type=int, default=None,
                        help="requests answered (default 2,048 checks or 512 builds)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    count = args.count or (2048 if args.action == "check" else 512)
    with tempfile.TemporaryDirectory(prefix="meso-instructions-") as tmp:
        home = Path(tmp)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(MESO_HOME=str(home), PYTHONPYCACHEPREFIX=str(home / "pycache"))
        requests = home / "requests.ndjson"
        generate.write_batch(requests, args.action, count)
        script = home / "answer.py"
        script.write_text(ANSWER, encoding="utf-8")
        subprocess.run([sys.executable, str(script), str(requests), "1"], env=env, check=True)  # snapshot, bytecode
        one = collected(script, requests, 1, env)
        many = collected(script, requests, count, env)
    print(f"{(many - one) / (count - 1) / 1000:,.1f} k instructions per {args.action} request "
          f"({count:,} generated requests, valgrind callgrind)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
