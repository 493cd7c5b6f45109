"""Case 4: the sensor stream, measured by ``benchmarks.stream_ingest`` (owned by the stream work).

That module prints its figures; this wrapper runs it in a child process and reads them back:
the backlog ingested by one sensor-requested run (readings/s, against its naive row-at-a-time
insert), and the live lag from a reading being written to its being stored (p50, p95) with
``dagster dev`` running the sensor at its default interval. If ``stream_ingest`` grows a
``measure(readings, lag_minutes) -> dict`` function, it is used instead of parsing.
"""

from __future__ import annotations

import re
import subprocess
import sys

from benchmarks.common import Sizes
from benchmarks.report import Figure

CASE = "4 stream"
_RATE = r"([\d,]+) in ([\d.]+) s = ([\d,]+) readings/s"


def run(sizes: Sizes) -> list[Figure]:
    import benchmarks.stream_ingest as stream_ingest

    readings = 5_000 if sizes.quick else 1_000_000
    lag_minutes = 0.0 if sizes.quick else 3.0
    measure = getattr(stream_ingest, "measure", None)
    if callable(measure):
        return _figures(measure(readings=readings, lag_minutes=lag_minutes), readings, lag_minutes)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_ingest", "--readings", str(readings), "--lag-minutes", str(lag_minutes),
         "--slice", str(min(20_000, readings))],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmarks.stream_ingest failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return _figures(parse(completed.stdout), readings, lag_minutes)


def parse(output: str) -> dict:
    """The figures in ``stream_ingest``'s printed report."""
    found: dict = {}
    for label, key in (("whole run", "run"), ("ingest step", "step"), ("naive row-at-a-time", "naive")):
        match = re.search(re.escape(label) + r"[^:\n]*: " + _RATE, output)
        if match:
            found[f"{key}_readings"] = int(match.group(1).replace(",", ""))
            found[f"{key}_seconds"] = float(match.group(2))
    lag = re.search(r"lag written -> stored: p50 ([\d.]+) s, p95 ([\d.]+) s", output)
    if lag:
        found["lag_p50"], found["lag_p95"] = float(lag.group(1)), float(lag.group(2))
    return found


def _figures(found: dict, readings: int, lag_minutes: float) -> list[Figure]:
    figures = []
    naive_rate = found["naive_readings"] / found["naive_seconds"] if found.get("naive_seconds") else None
    for key, name in (("run", "backlog: one sensor-requested run"), ("step", "backlog: its ingest step")):
        if found.get(f"{key}_seconds"):
            count, seconds = found[f"{key}_readings"], found[f"{key}_seconds"]
            rate = count / seconds
            figures.append(Figure(CASE, f"{name}, readings/s", rate, "readings/s", baseline=naive_rate,
                                  baseline_label="row-at-a-time", ratio=rate / naive_rate if naive_rate else None,
                                  note=f"{count:,} readings in {seconds:.2f} s"))
    if "lag_p50" in found:
        figures += [
            Figure(CASE, "lag written -> stored, p50", found["lag_p50"], "s", note="dagster dev, default sensor interval"),
            Figure(CASE, "lag written -> stored, p95", found["lag_p95"], "s", note=f"{lag_minutes:g} min of live readings"),
        ]
    elif lag_minutes == 0:
        figures.append(Figure(CASE, "lag written -> stored", None, note="not measured in --quick (needs dagster dev for minutes)"))
    if not figures:
        figures.append(Figure(CASE, "stream", None, note="benchmarks.stream_ingest printed no figure this wrapper knows"))
    return figures
