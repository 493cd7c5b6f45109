"""Per-sensor health of a batch of readings: how many, how fast, what range, and where data is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

STATS_COLUMNS = [
    "count", "first_seen", "last_seen", "rate_per_second", "min", "mean", "max",
    "median_interval", "gaps", "largest_gap",
]


def sensor_stats(records: pd.DataFrame, gap_factor: float = 3.0) -> pd.DataFrame:
    """One row per sensor_id (the index) with STATS_COLUMNS.

    rate_per_second: (count − 1) / observed span, i.e. readings per second between first and last.
    gaps: intervals longer than ``gap_factor`` × the sensor's median interval (between distinct
    timestamps); largest_gap is the longest of them (NaT when there is none).
    """
    if gap_factor <= 1:
        raise ValueError("gap_factor must be greater than 1")
    rows = {sensor: _one_sensor(group, gap_factor) for sensor, group in records.groupby("sensor_id", sort=True)}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=STATS_COLUMNS)
    table.index.name = "sensor_id"
    return table


def _one_sensor(group: pd.DataFrame, gap_factor: float) -> dict:
    stamps = pd.DatetimeIndex(group["ts"]).as_unit("ns").sort_values()  # asi8 below is in ns whatever the input unit
    values = group["value"].astype(float)
    span = (stamps[-1] - stamps[0]).total_seconds()
    distinct = np.unique(stamps.asi8)
    intervals = np.diff(distinct)
    median = float(np.median(intervals)) if len(intervals) else np.nan
    gaps = intervals[intervals > gap_factor * median] if len(intervals) else intervals
    return {
        "count": len(group),
        "first_seen": stamps[0],
        "last_seen": stamps[-1],
        "rate_per_second": (len(group) - 1) / span if span > 0 else np.nan,
        "min": values.min(),
        "mean": values.mean(),
        "max": values.max(),
        "median_interval": pd.Timedelta(int(median), unit="ns") if len(intervals) else pd.NaT,
        "gaps": int(len(gaps)),
        "largest_gap": pd.Timedelta(int(gaps.max()), unit="ns") if len(gaps) else pd.NaT,
    }
