"""Run every meso benchmark and print one table: name, meso, baseline, ratio, target, pass/fail.

Usage (from the repository root, with meso installed with the ``bench`` extra)::

    python benchmarks/run.py            # everything
    python benchmarks/run.py --runs 7   # more runs per timing
    python benchmarks/run.py --only cold,batch

Every timing is the median of ``--runs`` (at least 5) runs after one warm-up run; meso and its
baseline are run alternately, so a change in machine load affects both. Everything runs in
a temporary directory with its own ``MESO_HOME``; nothing outside it is written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

CHECK_ARGS = ["check", "--allergy", "lidocaine", "--ingredient", "hyaluronic-acid", "--json"]
BUILD_ARGS = ["build", "--indication", "hair-loss", "--json"]
SEARCH_ARGS = ["ingredients", "search", "vitamin", "--json"]


@dataclass
class Row:
    name: str
    meso: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    note: str = ""


@dataclass
class Run:
    seconds: float
    peak_rss_kb: int


def executable(name: str) -> str:
    """A console script installed next to this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} is not installed; pip install -e '.[bench]'")
    return found


def run_once(argv: Sequence[str], env: dict[str, str], stdout: Path | None = None) -> float:
    """Run a command to completion; its wall time in seconds."""
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, _ = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        if stdout is not None:
            out.close()  # type: ignore[union-attr]
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}: {errors[-2000:]}")
    return elapsed


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        queue.extend(int(c) for c in children)
    return found


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# Runs a command in a child it forks itself, and writes the child's wall time and peak resident
# set size (the largest of the command and the processes it waited for) to the file named
# first. Timed here, so the launcher's own start-up is not counted; and measured from this small
# process, not from the runner: a child the runner starts inherits the runner's own high-water
# mark (vfork, then exec, keeps the larger of the two), so the runner's size, not the
# command's, would be reported. scale.py uses it too.
LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
with open(report, "w") as out:
    out.write(f"{elapsed} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_sampled(argv: Sequence[str], env: dict[str, str], stdout: Path) -> tuple[Run, int]:
    """Run a command to completion; its wall time, its peak resident set size (of the command
    or of any process it started, whichever was largest), and the largest sum of the
    proportional set sizes of all of them, sampled every 20 ms."""
    report = stdout.with_suffix(".peak")
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *argv]
    with stdout.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(launcher, stdout=out, stderr=subprocess.DEVNULL, env=env)
        peak_tree = 0
        while process.poll() is None:
            # the launcher's own few MiB are left out: only its child and what that started
            peak_tree = max(peak_tree, sum(_pss_kb(p) for p in _tree(process.pid)[1:]))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    if process.returncode not in (0, 1, 2):
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}")
    return Run(elapsed, int(report.read_text().split()[1])), peak_tree


def median_pair(first: Sequence[str], second: Sequence[str], env_first: dict[str, str],
                env_second: dict[str, str], runs: int, out: Path | None = None) -> tuple[float, float]:
    """Medians of ``first`` and ``second``, run alternately after one warm-up run each."""
    run_once(first, env_first, out)
    run_once(second, env_second, out)
    a, b = [], []
    for _ in range(runs):
        a.append(run_once(first, env_first, out))
        b.append(run_once(second, env_second, out))
    return statistics.median(a), statistics.median(b)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# --------------------------------------------------------------------------------- benchmarks
def cold_start(ctx: Context) -> list[Row]:
    meso = executable("meso")
    baseline = [executable("sqlite-utils"), "query", str(ctx.shipped),
                "select id, name, class from substance where id = :id", "-p", "id", "lidocaine"]
    rows = []
    cases = [
        ("cold: meso check --json", [meso, *CHECK_ARGS], 2.5),
        ("cold: meso build --json", [meso, *BUILD_ARGS], 3.5),
        ("cold: meso --help", [meso, "--help"], 1.0),
        ("cold: meso --version", [meso, "--version"], 1.0),
    ]
    for name, argv, limit in cases:
        mine, theirs = median_pair(argv, baseline, ctx.env, ctx.env, ctx.runs)
        ratio = mine / theirs
        rows.append(Row(name, ms(mine), f"{ms(theirs)} (sqlite-utils query)", ratio, f"<= {limit:.1f}x",
                        ratio <= limit))
    # For the record: the very first check, before any snapshot of the catalogue exists.
    firsts = []
    for _ in range(ctx.runs):
        home = Path(tempfile.mkdtemp(dir=ctx.work))
        firsts.append(run_once([meso, *CHECK_ARGS], {**ctx.env, "MESO_HOME": str(home)}))
    first = statistics.median(firsts)
    rows.append(Row("cold: check, first run (no snapshot)", ms(first), "", None, "(informational)", None))
    return rows


def json_loop_command(path: Path) -> list[str]:
    code = ("import json, sys\n"
            "out = sys.stdout\n"
            "with open(sys.argv[1], encoding='utf-8') as f:\n"
            "    for line in f:\n"
            "        if line.strip():\n"
            "            out.write(json.dumps(json.loads(line), ensure_ascii=False, separators=(',', ':')) + '\\n')\n")
    return [sys.executable, "-c", code, str(path)]


def batch(ctx: Context) -> list[Row]:
    meso = executable("meso")
    rows = []
    for action, count, target in (("check", 20_000, 10_000), ("build", 2_000, 1_000)):
        path = ctx.work / f"batch-{action}-{count}.ndjson"
        stats = generate.write_batch(path, action, count)
        out = ctx.work / f"batch-{action}.out"
        mine, theirs = median_pair([meso, "batch", str(path)], json_loop_command(path), ctx.env, ctx.env,
                                   ctx.runs, out)
        rate = count / mine
        rows.append(Row(f"batch: {count:,} {action} requests", f"{rate:,.0f} req/s ({mine:.2f} s)",
                        f"{count / theirs:,.0f} req/s ({theirs:.2f} s, JSON loop)", mine / theirs,
                        f">= {target:,} req/s", rate >= target,
                        f"{stats['duplicate_share']:.2%} duplicate requests"))
    return rows


def memory(ctx: Context) -> list[Row]:
    meso = executable("meso")
    peaks, trees, seconds = {}, {}, {}
    for count in (1_000, 100_000):
        path = ctx.work / f"memory-{count}.ndjson"
        generate.write_mixed(path, count)
        out = ctx.work / "memory.out"
        run_once([meso, "batch", str(path)], ctx.env, out)  # warm-up
        runs = [run_sampled([meso, "batch", str(path)], ctx.env, out) for _ in range(3)]
        peaks[count] = statistics.median(r.peak_rss_kb for r, _ in runs)
        trees[count] = statistics.median(tree for _, tree in runs)
        seconds[count] = statistics.median(r.seconds for r, _ in runs)
    ratio = peaks[100_000] / peaks[1_000]
    note = (f"all processes together (PSS, sampled): {trees[100_000] / 1024:.1f} MiB vs "
            f"{trees[1_000] / 1024:.1f} MiB ({trees[100_000] / max(trees[1_000], 1):.2f}x); "
            f"100,000 mixed requests in {seconds[100_000]:.1f} s")
    return [Row("memory: peak RSS, 100,000-line batch", f"{peaks[100_000] / 1024:.1f} MiB",
                f"{peaks[1_000] / 1024:.1f} MiB (1,000 lines)", ratio, "<= 1.2x", ratio <= 1.2, note)]


def scale(ctx: Context) -> list[Row]:
    meso = executable("meso")
    source = ctx.work / "big-source"
    generate.write_big_source(ROOT / "data", source, 10_000)
    big = ctx.work / "big.sqlite"
    small = ctx.work / "small.sqlite"
    subprocess.run([meso, "db", "build", "--source", str(source), "-o", str(big)], check=True, env=ctx.env,
                   stdout=subprocess.DEVNULL)
    shutil.copyfile(ctx.shipped, small)
    env_big = {**ctx.env, "MESO_DATABASE_URL": f"sqlite:///{big}"}
    env_small = {**ctx.env, "MESO_DATABASE_URL": f"sqlite:///{small}"}
    rows = []
    for name, args in (("scale: ingredients search", SEARCH_ARGS), ("scale: build --json", BUILD_ARGS)):
        on_big, on_small = median_pair([meso, *args], [meso, *args], env_big, env_small, ctx.runs)
        ratio = on_big / on_small
        rows.append(Row(name + " (+10,000 products)", ms(on_big), f"{ms(on_small)} (shipped catalogue)", ratio,
                        "<= 1.5x", ratio <= 1.5))
    return rows


BENCHMARKS: dict[str, Callable[[Context], list[Row]]] = {
    "cold": cold_start, "batch": batch, "memory": memory, "scale": scale,
}


@dataclass
class Context:
    work: Path
    env: dict[str, str]
    runs: int
    shipped: Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def table(rows: Sequence[Row]) -> str:
    header = ("Benchmark", "meso (median)", "baseline (median)", "ratio", "target", "result")
    body = [(r.name, r.meso, r.baseline, "" if r.ratio is None else f"{r.ratio:.2f}x", r.target,
             "" if r.passed is None else ("pass" if r.passed else "FAIL")) for r in rows]
    widths = [max(len(str(x[i])) for x in (header, *body)) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in body]
    notes = [f"- {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (at least 5)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    from mesocli import __version__, config

    with tempfile.TemporaryDirectory(prefix="meso-bench-") as tmp:
        work = Path(tmp)
        os.environ["MESO_HOME"] = str(work / "home")  # the generators read the catalogue too
        os.environ.pop("MESO_DATABASE_URL", None)
        # Both programs run with their modules compiled, as after an ordinary install (pip
        # compiles a wheel's modules; an editable install compiles on first use). Bytecode goes
        # to the temporary directory, where each warm-up run writes it, never into the tree.
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(work / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ctx = Context(work, env, args.runs, config.shipped_database())
        print(f"meso {__version__} on {machine()}; median of {args.runs} runs after a warm-up", flush=True)
        rows: list[Row] = []
        for name in chosen:
            started = time.perf_counter()
            rows += BENCHMARKS[name](ctx)
            print(f"  {name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
