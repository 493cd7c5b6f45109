"""Case 5: what Dagster costs on a tiny upload.

A 10-row file is dropped into landing (complete, as an atomic rename leaves it), then
``tsplatform ingest`` runs as a fresh process until the batch is completed. The wall time is split
into: starting Python and importing the CLI and Dagster (measured alone), the work itself
(``process_batch``: ``finished_at - started_at`` of the upload), and the rest (Dagster instance,
definitions, the in-process run and its event log). Also the user's two-command path,
``tsplatform upload FILE`` then ``tsplatform ingest``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Sizes, head_of_csv, isolated_environment, sales_csv, work_folder
from benchmarks.report import Figure

CASE = "5 orchestration"
BIN = Path(sys.executable).parent


def run(sizes: Sizes) -> list[Figure]:
    folder = work_folder()
    source = sales_csv(folder, 20, 100, 30)
    root = Path(tempfile.mkdtemp(prefix="orchestration-", dir=folder))
    try:
        isolated_environment(root)
        environment = dict(os.environ)
        _cli(["ingest"], environment)  # first start: creates the instance storage and the warehouse
        imports = _median(sizes.orchestration_repeats, lambda: _timed([sys.executable, "-c",
                          "import tsplatform.cli, dagster, tsplatform.definitions"], environment))
        dropped, work, upload_path = [], [], []
        for attempt in range(sizes.orchestration_repeats):
            small = _ten_rows(source, root / "exports" / f"sales_{attempt}.csv", attempt)
            landed = root / "data" / "landing" / small.name
            shutil.copy2(small, landed)  # keeps the export's old mtime: settled, as after an atomic rename
            dropped.append(_timed([str(BIN / "tsplatform"), "ingest"], environment))
            work.append(_last_batch_seconds())
            small = _ten_rows(source, root / "exports" / f"upload_{attempt}.csv", attempt + 1000)
            upload_path.append(_timed([str(BIN / "tsplatform"), "upload", str(small)], environment)
                               + _timed([str(BIN / "tsplatform"), "ingest"], environment))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    wall, work_seconds = statistics.median(dropped), statistics.median(work)
    rest = max(wall - imports - work_seconds, 0.0)
    repeats = f"median of {sizes.orchestration_repeats}"
    return [
        Figure(CASE, "10-row file dropped -> batch completed", wall, "s", baseline=work_seconds,
               baseline_label="the work: process_batch", ratio=work_seconds / wall,
               note=f"`tsplatform ingest` in a new process, {repeats}; ratio = share of the wall time that is the work"),
        Figure(CASE, "  of which: Python + imports (CLI, Dagster, definitions)", imports, "s", note=repeats),
        Figure(CASE, "  of which: Dagster instance + in-process run + event log", rest, "s",
               note="wall - imports - work"),
        Figure(CASE, "`tsplatform upload` + `tsplatform ingest`", statistics.median(upload_path), "s",
               note=f"two commands, {repeats}"),
    ]


def _ten_rows(source: Path, target: Path, salt: int) -> Path:
    """A 10-row export, unique content each time (no duplicate), written a minute 'ago'."""
    target.parent.mkdir(parents=True, exist_ok=True)
    head_of_csv(source, 10, target)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(f"2024-01-01,P{salt:05d},Bench,1.0\n")
    old = time.time() - 60
    os.utime(target, (old, old))
    return target


def _timed(command: list[str], environment: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, capture_output=True)
    return time.perf_counter() - started


def _cli(arguments: list[str], environment: dict) -> None:
    subprocess.run([str(BIN / "tsplatform"), *arguments], env=environment, check=True, capture_output=True)


def _median(times: int, measure) -> float:
    return statistics.median(measure() for _ in range(times))


def _last_batch_seconds() -> float:
    from tsplatform import settings
    from tsplatform.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url()).transaction() as session:
        row = session.fetch_one(
            "SELECT started_at, finished_at, status FROM upload_metadata WHERE status <> 'duplicate' "
            "ORDER BY uploaded_at DESC, started_at DESC LIMIT 1"
        )
    if row is None or row[2] != "completed":
        raise RuntimeError(f"the 10-row batch did not complete: {row}")
    return (row[1] - row[0]).total_seconds()
