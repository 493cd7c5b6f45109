"""The shared M4 series (``../shared/datasets/m4``, read in place, never copied into the project).

Each file row is a series id, then its values in time order (trailing cells empty); the training
file holds the history, the test file the next ``horizon`` values. The series carry no dates, so
weekly ones get a Sunday-anchored weekly index (W-SUN) and hourly ones an hourly index, both from
an arbitrary start: only the step matters to the models.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
DATASETS = PROJECT.parent / "shared" / "datasets" / "m4"


@dataclass(frozen=True)
class M4Set:
    """One frequency of M4: its files, horizon, seasonal period m and the calendar we give it."""

    name: str
    train_file: str
    test_file: str
    horizon: int
    season_length: int  # M4's m: 1 for weekly, 24 for hourly (MASE scale, Naive2's seasonality test)
    freq: str  # pandas alias of the index given to the undated series
    start: str


WEEKLY = M4Set("m4 weekly", "Weekly-dev-train.csv", "Weekly-dev-test.csv", 13, 1, "W-SUN", "2000-01-02")
HOURLY = M4Set("m4 hourly", "Hourly-train.csv", "Hourly-test.csv", 48, 24, "h", "2000-01-01 00:00")


@dataclass(frozen=True)
class Series:
    """One series split as M4 splits it: the history the model sees and the values it must forecast."""

    key: str
    train: np.ndarray
    test: np.ndarray


def load(m4_set: M4Set, folder: Path = DATASETS) -> list[Series]:
    """Every series of ``m4_set`` in file order; raises ``FileNotFoundError`` naming the folder."""
    train = _rows(folder / m4_set.train_file)
    test = _rows(folder / m4_set.test_file)
    if list(train) != list(test):
        raise ValueError(f"{m4_set.train_file} and {m4_set.test_file} hold different series")
    series = []
    for key, values in train.items():
        if len(test[key]) != m4_set.horizon:
            raise ValueError(f"{key}: {len(test[key])} test values, expected {m4_set.horizon}")
        series.append(Series(key, values, test[key]))
    return series


def every_kth(series: list[Series], k: int) -> list[Series]:
    """The fixed subset of the default run: series 1, 1 + k, 1 + 2k, ... in file order."""
    return series[:: max(int(k), 1)]


def _rows(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the M4 files are expected in {path.parent}")
    rows: dict[str, np.ndarray] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)  # header: V1, V2, ...
        for row in reader:
            values = [cell for cell in row[1:] if cell != ""]
            rows[row[0]] = np.asarray(values, dtype=float)
    return rows
