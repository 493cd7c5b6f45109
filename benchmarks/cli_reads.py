"""Case 8: how long the read commands take, against Python's own start-up in the same run.

A DuckDB warehouse with a realistic load (a 100,000-row upload with its rejected lines, a few
small uploads, 10 categories' forecasts of every model) is read by ``tsplatform uploads``,
``invoices --limit 50``, ``forecasts --limit 50`` and ``rejected``, each a new process as a person
runs it. The floor is ``python -c pass`` timed beside them: a command's own time is its time minus
that floor. ``python -c "import pandas, duckdb"`` shows how much of it is the libraries a read
needs (``tsplatform.read`` returns DataFrames). Wall time and CPU time (``wait4``) are both
reported: on a busy machine the wall time waits for a core, the CPU time does not.
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

from benchmarks.common import Sizes, isolated_environment, sales_csv, work_folder
from benchmarks.report import Figure

CASE = "8 cli reads"
BIN = Path(sys.executable).parent
COMMANDS = {
    "uploads": ["uploads"],
    "invoices --limit 50": ["invoices", "--limit", "50"],
    "forecasts --limit 50": ["forecasts", "--limit", "50"],
    "rejected": ["rejected"],
}
MAX_OWN_SECONDS = 1.0  # of CPU: the wall time of a busy machine waits for a core


def run(sizes: Sizes) -> list[Figure]:
    root = Path(tempfile.mkdtemp(prefix="cli-reads-", dir=work_folder()))
    repeats = 2 if sizes.quick else 7
    try:
        isolated_environment(root)
        rows = fill_warehouse(root, products_per_category=5 if sizes.quick else 100, days=100)
        environment = dict(os.environ)
        floors = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import pandas, duckdb"': [sys.executable, "-c", "import pandas, duckdb"],
        }
        commands = {name: [str(BIN / "tsplatform"), *arguments] for name, arguments in COMMANDS.items()}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in [*floors, *commands]}
        for _ in range(repeats):  # interleaved, so a busy moment of the machine hits every command alike
            for name, command in {**floors, **commands}.items():
                times[name].append(_timed(command, environment))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    wall = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    floor, floor_cpu = wall["python -c pass"], cpu["python -c pass"]
    figures = [Figure(CASE, f"floor: {name}", wall[name], "s", note=f"cpu {cpu[name]:.2f} s; median of {repeats}, "
                      f"fastest {min(w for w, _ in times[name]):.2f} s") for name in floors]
    for name in commands:
        own, own_cpu = wall[name] - floor, cpu[name] - floor_cpu
        figures.append(Figure(
            CASE, f"`tsplatform {name}`", wall[name], "s", baseline=floor, baseline_label="python -c pass",
            ratio=floor / wall[name], target=f"own cpu < {MAX_OWN_SECONDS:g} s", met=own_cpu < MAX_OWN_SECONDS,
            note=f"{wall[name] / floor:.1f}x the start-up floor (cpu {cpu[name] / floor_cpu:.1f}x); own time "
                 f"{own:.2f} s wall, {own_cpu:.2f} s cpu; median of {repeats} (fastest {min(w for w, _ in times[name]):.2f} s), "
                 f"{rows:,} invoice rows; ratio = floor / command",
        ))
    return figures


def fill_warehouse(root: Path, products_per_category: int, days: int) -> int:
    """Uploads (one large with messy lines, four small), and 10 categories' forecasts of 7 models."""
    from tsplatform.ingest.processing import process_batch
    from tsplatform.ingest.registration import register_file
    from tsplatform.settings import data_paths, warehouse_url
    from tsplatform.warehouse import open_warehouse

    warehouse = open_warehouse(warehouse_url())
    paths = data_paths().ensure()
    large = sales_csv(work_folder(), products_per_category, days, messy_rows=300)
    sources = [large] + [_small_upload(root / "exports" / f"store_{n}.csv", n) for n in range(4)]
    for source in sources:
        landed = paths.landing / source.name
        shutil.copyfile(source, landed)
        outcome = process_batch(warehouse, register_file(landed, paths, warehouse).batch_num)
        if outcome.status != "completed":
            raise RuntimeError(f"{source.name}: {outcome.status} {outcome.message}")
    _store_forecasts(warehouse)
    with warehouse.transaction() as session:
        return int(session.fetch_one("SELECT count(*) FROM invoice_data")[0])


def _small_upload(path: Path, salt: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"2025-01-{day:02d},S{salt}-{product},Store,{day + product}" for day in range(1, 29) for product in range(3)]
    path.write_text("Date,product_id,category,sales\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _store_forecasts(warehouse) -> None:
    import uuid

    import numpy as np
    import pandas as pd

    from tsplatform.warehouse import forecasts as forecast_table

    models = ["prophet", "sarimax", "holt_winters", "naive", "seasonal_naive", "theta", "ensemble"]
    days = pd.date_range("2026-01-01", periods=30, freq="D")
    rng = np.random.default_rng(5)
    with warehouse.transaction() as session:
        for number in range(10):
            values = rng.uniform(50, 150, size=(len(models), len(days)))
            frame = pd.DataFrame({
                "model": np.repeat(models, len(days)), "ds": np.tile(days, len(models)), "yhat": values.ravel(),
                "lower": values.ravel() * 0.8, "upper": values.ravel() * 1.2, "flag": None,
            })
            backtest = pd.DataFrame({"model": models, "origin": days[0], "smape": 0.1, "mase": 0.9, "coverage": 0.95,
                                     "n": 30})
            forecast_table.replace_category_forecasts(
                session, f"Category {number}", forecast_table.forecast_rows(frame, "ensemble", 0.95),
                forecast_table.metric_rows(backtest, "ensemble", 30), uuid.uuid4().hex,
            )


def _timed(command: list[str], environment: dict) -> tuple[float, float]:
    """(wall, cpu) seconds of ``command`` in a new process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {child.stderr.read().decode(errors='replace')[-2000:]}")
    child.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime
