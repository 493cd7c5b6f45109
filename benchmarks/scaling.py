"""Case 6: how cost grows with size, for the ingest (rows) and the forecast (categories).

Each is measured at four sizes in one process; the growth exponent is the slope of log(time)
against log(size) (1 = linear, below 1 = fixed costs amortised). The baseline of each figure is the
smallest size, scaled linearly to the largest: ratio > 1 means cheaper than linear growth.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import Sizes, Stopwatch, isolated_environment, sales_csv, work_folder
from benchmarks.report import Figure

CASE = "6 scaling"
MAX_EXPONENT = 1.1  # "linear or better", with 10% allowance for a noisy machine


def run(sizes: Sizes) -> list[Figure]:
    ingest = [(rows, _ingest_seconds(rows, sizes)) for rows in sizes.scaling_ingest_rows]
    forecast = [(n, _forecast_seconds(n, sizes)) for n in sizes.scaling_forecast_categories]
    return [_growth("ingest (DuckDB), by rows", "rows", ingest), _growth("forecast, by categories", "categories", forecast)]


def _growth(figure: str, unit: str, points: list[tuple[int, float]]) -> Figure:
    (small, small_time), (large, large_time) = points[0], points[-1]
    exponent = _slope([math.log(size) for size, _ in points], [math.log(max(t, 1e-9)) for _, t in points])
    linear = small_time * large / small
    detail = ", ".join(f"{size:,} {unit}: {seconds:.2f} s" for size, seconds in points)
    return Figure(CASE, f"{figure}: time at {large:,} {unit}", large_time, "s", baseline=linear,
                  baseline_label=f"linear from {small:,}", ratio=linear / large_time,
                  target=f"growth exponent <= {MAX_EXPONENT:g}", met=exponent <= MAX_EXPONENT,
                  note=f"growth exponent {exponent:.2f} ({detail})", extra={"exponent": exponent})


def _slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else float("nan")


def _ingest_seconds(rows: int, sizes: Sizes) -> float:
    """register + process_batch of a ``rows``-row upload on a fresh DuckDB warehouse."""
    from tsplatform.ingest.processing import process_batch
    from tsplatform.ingest.registration import register_file
    from tsplatform.settings import DataPaths
    from tsplatform.warehouse import open_warehouse

    folder = work_folder()
    days = min(sizes.ingest_days, max(rows // 200, 10))
    products = max(rows // (10 * days), 1)
    source = sales_csv(folder, products, days, max(rows * 3 // 10_000, 1))
    root = Path(tempfile.mkdtemp(prefix=f"scaling-{rows}-", dir=folder))
    try:
        url = f"duckdb:///{root / 'warehouse.duckdb'}"
        isolated_environment(root, url)
        warehouse = open_warehouse(url)
        paths = DataPaths(root / "data").ensure()
        landed = paths.landing / source.name
        shutil.copyfile(source, landed)
        with Stopwatch() as watch:
            outcome = process_batch(warehouse, register_file(landed, paths, warehouse).batch_num)
        if outcome.status != "completed":
            raise RuntimeError(f"scaling ingest of {rows} rows: {outcome.status} {outcome.message}")
        return watch.wall
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _forecast_seconds(categories: int, sizes: Sizes) -> float:
    from benchmarks.forecast import category_series, full_forecast

    series = category_series(categories, sizes.scaling_forecast_days)
    folder = Path(tempfile.mkdtemp(prefix=f"scaling-forecast-{categories}-", dir=work_folder()))
    try:
        with Stopwatch() as watch:
            full_forecast(series, folder)
        return watch.wall
    finally:
        shutil.rmtree(folder, ignore_errors=True)
