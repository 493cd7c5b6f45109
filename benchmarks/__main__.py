"""The benchmark suite: ``python -m benchmarks [--quick] [--only CASE ...] [--output FILE]``.

Prints one table: each figure against a baseline measured in the same run (the machine is noisy, so
a ratio means more than a time), the target and whether it is met, the peak memory of every job,
and the machine it ran on. Every job runs in its own process; its peak RSS comes from ``wait4``.

``--quick`` runs every case at toy sizes (CI, about a minute): it checks that the suite still runs,
not the speed. The exit status is 1 only when a job crashes, never for a missed target.
A full run also writes the table to ``benchmarks/RESULTS.md`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, load, machine, machine_lines, notes, table

PROJECT = Path(__file__).resolve().parent.parent
# case name -> its jobs (each one process); jobs marked hidden prepare inputs and report nothing
CASES = {
    "ingest": ["prepare-ingest", "ingest-duckdb", "ingest-postgres"],
    "ingest-cli": ["prepare-ingest", "ingest-cli-duckdb", "ingest-cli-postgres", "ingest-cli-scaling"],
    "forecast": ["forecast"],
    "stream": ["stream"],
    "stream-nats": ["stream-nats"],
    "orchestration": ["orchestration"],
    "scaling": ["scaling"],
    "accuracy": ["accuracy"],
    "cli": ["cli-reads"],
    "alarms": ["alarms"],
    "celery": ["celery"],
}
HIDDEN = {"prepare-ingest"}
MEMORY_LIMITS_MB = {"ingest-duckdb": 1536, "ingest-postgres": 1536}
MEMORY_CASE = {"ingest-duckdb": "1 ingest", "ingest-postgres": "1 ingest", "ingest-cli-duckdb": "1c ingest as run",
               "ingest-cli-postgres": "1c ingest as run", "ingest-cli-scaling": "1c ingest as run: scaling", "forecast": "3 forecast",
               "stream": "4 stream", "stream-nats": "4b stream on NATS", "orchestration": "5 orchestration",
               "scaling": "6 scaling",
               "accuracy": "7 accuracy", "cli-reads": "8 cli reads",
               "alarms": "9 alarms", "celery": "10 celery"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sizes: a smoke run for CI")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), metavar="CASE",
                        help=f"run only these cases ({', '.join(CASES)})")
    parser.add_argument("--output", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs (printed at the end)")
    args = parser.parse_args(argv)

    cases = args.only or list(CASES)
    work = Path(tempfile.mkdtemp(prefix="tsplatform-bench-"))
    started = time.perf_counter()
    load_before = _load_average()
    figures: list[Figure] = []
    crashed = []
    try:
        jobs = list(dict.fromkeys(job for case in cases for job in CASES[case]))  # prepare-ingest once
        for job in jobs:
            print(f"running {job}{' (quick)' if args.quick else ''} ...", end=" ", file=sys.stderr, flush=True)
            job_started = time.perf_counter()
            job_figures, peak_mb, error = _run_job(job, args.quick, work)
            print(f"{'CRASHED' if error else 'done'} in {time.perf_counter() - job_started:.0f} s", file=sys.stderr)
            if error:
                crashed.append(job)
                figures.append(Figure(MEMORY_CASE.get(job, job), f"{job}: CRASHED", None, note=error))
            figures += job_figures
            if job not in HIDDEN:
                figures.append(_memory_figure(job, peak_mb))
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    figures.sort(key=lambda f: f.case)  # stable: each case's rows stay in the order measured
    info = machine()
    info["load average before / after"] = f"{load_before} / {_load_average()}"
    info["suite wall time"] = f"{time.perf_counter() - started:.0f} s" + (" (--quick)" if args.quick else "")
    print(table(figures))
    print()
    print("\n".join(notes(figures)))
    print()
    print("\n".join(machine_lines(info)))
    output = args.output or (None if args.quick or args.only else PROJECT / "benchmarks" / "RESULTS.md")
    if output:
        output.write_text(_markdown(figures, info), encoding="utf-8")
        print(f"\nwritten to {output}", file=sys.stderr)
    if crashed:
        print(f"\ncrashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


def _run_job(job: str, quick: bool, work: Path) -> tuple[list[Figure], float, str | None]:
    """Run ``job`` in a child process; (figures, peak RSS in MB, error or None)."""
    result = work / f"{job}.json"
    command = [sys.executable, "-m", "benchmarks._worker", job, "--result", str(result)] + (["--quick"] if quick else [])
    environment = {**os.environ, "TSPLATFORM_BENCH_DIR": str(work / "inputs"),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    log = work / f"{job}.log"
    with log.open("wb") as output:
        child = subprocess.Popen(command, cwd=PROJECT, env=environment, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    if child.returncode != 0 or not result.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-12:]
        return [], peak_mb, f"exit {child.returncode}: " + " | ".join(tail)
    return load(result.read_text(encoding="utf-8")), peak_mb, None


def _memory_figure(job: str, peak_mb: float) -> Figure:
    limit = MEMORY_LIMITS_MB.get(job)
    return Figure(MEMORY_CASE.get(job, job), f"{job}: peak memory (largest process)", peak_mb, "MB",
                  target=f"< {limit / 1024:g} GB" if limit else "", met=(peak_mb < limit) if limit else None)


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "-"


def _markdown(figures: list[Figure], info: dict[str, str]) -> str:
    lines = [f"# Benchmark results ({dt.date.today().isoformat()})", "",
             "`python -m benchmarks` (`make bench`); regenerate this file with a full run.", "",
             table(figures, markdown=True), "", "Notes:", ""]
    lines += [f"- {line}" for line in notes(figures)]
    lines += ["", "Machine:", ""] + [f"- {line}" for line in machine_lines(info)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
