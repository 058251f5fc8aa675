"""The large-catalogue benchmark: checks and builds on a clinic catalogue with many imported products.

Usage (from the repository root, with meso installed with the ``bench`` extra)::

    python benchmarks/scale.py              # the shipped catalogue and +10,000 clinic products
    python benchmarks/scale.py --large      # also +100,000 (about 5 minutes on two cores)
    python benchmarks/scale.py --quick      # a smoke run: +1,000 products, 2 runs, under a minute
    python benchmarks/scale.py --sizes 10000,50000 --runs 7

Each catalogue is a clinic's own SQLite database, made the way a clinic makes one: ``meso db
upgrade`` with ``MESO_DATABASE_URL`` pointing at a new file, then ``meso catalogue import`` of
files of generated products (``generate.clinic_import``, 40,000 products a file at most). The
"shipped" catalogue is such a database with nothing imported, so every size goes through the
same code.

Every command is timed as a new process (the median of ``--runs`` runs after one warm-up run
that writes the catalogue snapshot), with the peak resident set size of that process; the
catalogues take turns run by run, so a change in machine load hits them all. The first run on a
catalogue (no snapshot yet) is timed separately (3 runs; 1 from +50,000 products, where each
takes minutes), and a Python process that calls the public API (``load_catalogue``, ``check``,
``build``) times the phases: loading, the first call of each
kind (which builds what a catalogue keeps for later calls) and a repeated call. Everything
happens in a temporary directory with its own ``MESO_HOME``. The exit status is 1 when a target
of the full run is missed; ``--quick`` only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from run import LAUNCHER, executable, machine  # noqa: E402

ALLERGY = "lidocaine"
CONTRAINDICATED_PRODUCT = "lidocaine-2pct-md-methylparaben"  # lidocaine 2 % with methylparaben
# name, command-line arguments, what its JSON must say (so a case cannot quietly measure something else)
CASES: list[tuple[str, list[str], dict[str, object]]] = [
    ("plain check", ["check", "--allergy", ALLERGY, "--ingredient", "hyaluronic-acid", "--json"],
     {"status": "ok"}),
    ("contraindicated check", ["check", "--allergy", ALLERGY, "--ingredient", CONTRAINDICATED_PRODUCT, "--json"],
     {"status": "contraindicated", "alternatives": "non-empty"}),
    ("full screen", ["check", "--allergy", ALLERGY, "--json"], {"status": "contraindicated", "screened": True}),
    ("build", ["build", "--indication", "hair-loss", "--allergy", ALLERGY, "--json"], {"status": "ok"}),
]

# From this many imported products on, the first run and the phases (minutes each) are run once.
LARGE = 50_000

# Issue 13's targets, as ratios in the same run: (case, baseline case or None for the shipped
# catalogue, limit, sizes it applies to).
TARGETS: list[tuple[str, str | None, float, tuple[int, ...]]] = [
    ("contraindicated check", None, 1.5, (10_000,)),
    ("build", None, 1.5, (10_000,)),
    ("full screen", None, 2.5, (10_000,)),
    ("contraindicated check", "plain check", 1.2, (10_000, 100_000)),
]


# The phases, through the public Python API only. argv: "database" (read the database, as a
# first run does, and write the snapshot) or "snapshot" (load it, then each call twice), then
# the allergy and the contraindicated product.
_PHASES = """
import gc, json, sys, time
clock = time.perf_counter
collecting = [0.0, 0.0]

def collector(phase, info):  # time spent in the garbage collector, which walks the catalogue too
    if phase == "start":
        collecting[1] = clock()
    else:
        collecting[0] += clock() - collecting[1]

gc.callbacks.append(collector)
started = clock()
import mesocli
from mesocli import Patient, build, check, load_catalogue
times = {"import mesocli": clock() - started}

def timed(name, call):
    start = clock()
    value = call()
    times[name] = clock() - start
    return value

if sys.argv[1] == "database":
    timed("load: read the database, write the snapshot", lambda: load_catalogue(refresh=True))
else:
    cat = timed("load: the snapshot", load_catalogue)
    allergy, product = sys.argv[2:4]
    patient = Patient(allergies=[allergy])
    calls = [
        ("plain check", lambda: check(patient, ingredients=["hyaluronic-acid"], catalogue=cat)),
        ("contraindicated check", lambda: check(patient, ingredients=[product], catalogue=cat)),
        ("full screen", lambda: check(patient, catalogue=cat)),
        ("build", lambda: build("hair-loss", patient, catalogue=cat)),
    ]
    for name, call in calls:
        timed(name + ", first call", call)
        timed(name + ", again", call)
times[("load: the database, of which garbage collection" if sys.argv[1] == "database"
       else "garbage collection, in all of the above")] = collecting[0]
print(json.dumps(times))
"""


@dataclass
class Catalogue:
    label: str
    size: int
    path: Path
    env: dict[str, str]
    import_seconds: float | None = None
    import_rss_kb: int | None = None
    import_files: int = 0
    seconds: dict[str, list[float]] = field(default_factory=dict)
    rss_kb: dict[str, list[int]] = field(default_factory=dict)
    first_run: list[tuple[float, int]] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)

    def median(self, case: str) -> float:
        return statistics.median(self.seconds[case])

    def peak_mib(self, case: str) -> float:
        return statistics.median(self.rss_kb[case]) / 1024


def measured(argv: Sequence[str], env: dict[str, str], work: Path, stdout: Path | None = None) -> tuple[float, int]:
    """Run ``argv`` to completion: its wall time in seconds and its peak RSS in KiB."""
    report = work / "launcher.report"
    target = stdout if stdout is not None else work / "discarded.out"
    with target.open("wb") as out:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *argv],
                              stdout=out, stderr=subprocess.PIPE, env=env)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: "
                           f"{done.stderr.decode('utf-8', 'replace')[-2000:]}")
    seconds, rss = report.read_text().split()
    return float(seconds), int(rss)


def verify(case: str, output: Path, expect: dict[str, object], label: str) -> None:
    """Stop the benchmark when a case does not do what it is meant to measure."""
    document = json.loads(output.read_text(encoding="utf-8"))
    for key, wanted in expect.items():
        value = document.get(key)
        if (wanted == "non-empty" and not value) or (wanted != "non-empty" and value != wanted):
            sys.exit(f"{case} on the {label} catalogue: {key} is {value!r}, expected {wanted!r}; "
                     "the benchmark would measure something else")


def make_catalogue(meso: str, work: Path, env: dict[str, str], size: int) -> Catalogue:
    """A clinic database (``meso db upgrade``) with ``size`` generated products imported."""
    path = work / f"clinic-{size}.sqlite"
    label = "shipped" if size == 0 else f"+{size:,}"
    cat = Catalogue(label, size, path, {**env, "MESO_DATABASE_URL": f"sqlite:///{path}"})
    subprocess.run([meso, "db", "upgrade"], check=True, env=cat.env, stdout=subprocess.DEVNULL)
    if size:
        started = time.perf_counter()
        texts = generate.clinic_import(size, ROOT / "data")
        print(f"  {label}: {sum(map(len, texts)) / 2**20:.1f} MiB of TOML in {len(texts)} file(s), made in "
              f"{time.perf_counter() - started:.1f} s; importing", file=sys.stderr, flush=True)
        cat.import_seconds, cat.import_rss_kb, products = 0.0, 0, 0
        for number, text in enumerate(texts, 1):
            source = work / f"clinic-products-{size}-{number}.toml"
            source.write_text(text, encoding="utf-8")
            seconds, rss = measured([meso, "catalogue", "import", str(source), "--json"], cat.env, work,
                                    work / "import.out")
            cat.import_seconds += seconds
            cat.import_rss_kb = max(cat.import_rss_kb, rss)
            cat.import_files = len(texts)
            products += len(json.loads((work / "import.out").read_text(encoding="utf-8"))["products"])
        if products != size:
            sys.exit(f"the import added {products} products, not {size}")
    return cat


def measure(meso: str, catalogues: list[Catalogue], work: Path, runs: int, first_runs: int,
            phase_runs: int) -> list[float]:
    """Fill in each catalogue's figures; return the start-up times (``meso --version``)."""
    out = work / "case.out"
    startup = []
    for cat in catalogues:  # warm-up: writes each catalogue's snapshot and checks every case
        for case, args, expect in CASES:
            measured([meso, *args], cat.env, work, out)
            verify(case, out, expect, cat.label)
            cat.seconds[case], cat.rss_kb[case] = [], []
    for number in range(runs):
        turn = number % len(CASES)  # each case in turn comes first, right after the largest catalogue's last
        for case, args, _ in CASES[turn:] + CASES[:turn]:
            for cat in catalogues:
                seconds, rss = measured([meso, *args], cat.env, work)
                cat.seconds[case].append(seconds)
                cat.rss_kb[case].append(rss)
        startup.append(measured([meso, "--version"], catalogues[0].env, work)[0])
        print(f"  run {number + 1}/{runs} done", file=sys.stderr, flush=True)
    for number in range(first_runs):
        for cat in catalogues:
            if number and cat.size >= LARGE:
                continue
            home = work / f"empty-home-{cat.size}-{number}"
            cat.first_run.append(measured([meso, *CASES[0][1]], {**cat.env, "MESO_HOME": str(home)}, work))
    for number in range(phase_runs):
        for cat in catalogues:
            if number and cat.size >= LARGE:
                continue
            phases: dict[str, float] = {}
            for mode in ("database", "snapshot"):
                home = {"MESO_HOME": str(work / f"phase-home-{cat.size}")} if mode == "database" else {}
                done = subprocess.run([sys.executable, "-c", _PHASES, mode, ALLERGY, CONTRAINDICATED_PRODUCT],
                                      capture_output=True, env={**cat.env, **home}, text=True)
                if done.returncode != 0:  # the timings above stand on their own; say why these are missing
                    print(f"  phases left out: the Python API call failed on the {cat.label} catalogue:\n"
                          f"{done.stderr[-1500:]}", file=sys.stderr, flush=True)
                    for each in catalogues:
                        each.phases.clear()
                    return startup
                phases.update({k: v for k, v in json.loads(done.stdout).items()
                               if mode == "snapshot" or "database" in k})
            cat.phases.append(phases)
    return startup


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def report(catalogues: list[Catalogue], startup: list[float], quick: bool) -> tuple[str, bool]:
    shipped, others = catalogues[0], catalogues[1:]
    lines = []
    header = ["case", *(c.label for c in catalogues)]
    rows = [[f"{case} (median, peak RSS)"] + [f"{ms(c.median(case))}, {c.peak_mib(case):.0f} MiB" for c in catalogues]
            for case, _, _ in CASES]
    rows += [[f"{case}: ratio to shipped", "1.00x",
              *(f"{c.median(case) / shipped.median(case):.2f}x" for c in others)] for case, _, _ in CASES]
    rows.append(["contraindicated / plain check",
                 *(f"{c.median('contraindicated check') / c.median('plain check'):.2f}x" for c in catalogues)])
    rows.append(["first run, no snapshot (plain check)"] + [
        f"{ms(statistics.median(s for s, _ in c.first_run))}, "
        f"{statistics.median(r for _, r in c.first_run) / 1024:.0f} MiB" for c in catalogues])
    rows.append(["import (meso catalogue import, once)"] + [
        "" if c.import_seconds is None else
        f"{c.import_seconds:.1f} s in {c.import_files} file(s), {(c.import_rss_kb or 0) / 1024:.0f} MiB"
        for c in catalogues])
    lines += _table(header, rows)
    lines += ["", f"Start-up alone (meso --version): {ms(statistics.median(startup))}; every process above pays it."]

    phase_names = list(catalogues[0].phases[0]) if catalogues[0].phases else []
    if phase_names:
        lines += ["", "Phases in one Python process through the public API (median):", ""]
        lines += _table(["phase", *(c.label for c in catalogues)],
                        [[name] + [f"{statistics.median(p[name] for p in c.phases) * 1000:,.1f} ms"
                                   for c in catalogues]
                         for name in phase_names])

    lines += ["", "Targets (issue 13), ratios of medians in this run:", ""]
    passed = True
    target_rows = []
    for case, baseline, limit, sizes in TARGETS:
        for cat in others:
            applies = cat.size in sizes
            base = shipped if baseline is None else cat
            base_case = case if baseline is None else baseline
            ratio = cat.median(case) / base.median(base_case)
            what = f"{case} {cat.label} vs {'shipped' if baseline is None else baseline + ' ' + cat.label}"
            if applies:
                ok = ratio <= limit
                passed &= ok
                verdict = "PASS" if ok else "FAIL"
            else:
                verdict = "(target applies at " + ", ".join(f"+{s:,}" for s in sizes) + ")"
            target_rows.append([what, f"{ratio:.2f}x", f"<= {limit}x", verdict])
    lines += _table(["target", "ratio", "limit", "result"], target_rows)
    if quick:
        lines += ["", "--quick: a smoke run; the targets apply to the full run (+10,000 and +100,000)."]
    return "\n".join(lines), passed


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command (default 5; 2 with --quick)")
    parser.add_argument("--large", action="store_true", help="also +100,000 products (several minutes)")
    parser.add_argument("--quick", action="store_true", help="smoke run: +1,000 products, fewer runs")
    parser.add_argument("--sizes", default=None, help="comma-separated numbers of imported products")
    parser.add_argument("--json", action="store_true", help="also print every measurement as JSON")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    elif args.quick:
        sizes = [1_000]
    else:
        sizes = [10_000, 100_000] if args.large else [10_000]
    runs = args.runs or (2 if args.quick else 5)
    if runs < (1 if args.quick else 5):
        parser.error("--runs must be at least 5 (at least 1 with --quick)")
    if any(size < 1 for size in sizes):
        parser.error("--sizes: each size must be at least 1")
    from mesocli import __version__

    meso = executable("meso")
    with tempfile.TemporaryDirectory(prefix="meso-scale-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "NO_COLOR": "1", "MESO_HOME": str(work / "home"),
               "PYTHONPYCACHEPREFIX": str(work / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"meso {__version__} on {machine()}; median of {runs} runs after a warm-up", flush=True)
        started = time.perf_counter()
        catalogues = [make_catalogue(meso, work, env, size) for size in [0, *sorted(set(sizes))]]
        print(f"  catalogues ready in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        startup = measure(meso, catalogues, work, runs, first_runs=1 if args.quick else 3,
                          phase_runs=1 if args.quick else 3)
    text, passed = report(catalogues, startup, args.quick)
    print(text)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        print(json.dumps([{k: (str(v) if isinstance(v, Path) else v) for k, v in c.__dict__.items() if k != "env"}
                          for c in catalogues], indent=2))
    return 0 if passed or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
