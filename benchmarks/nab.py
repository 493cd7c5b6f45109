"""The shared NAB series (``../shared/datasets/nab``, read in place, never copied into the project)
and how NAB scores a detector on them.

Each file is ``timestamp,value``; ``windows.json`` maps ``realKnownCause/<file>.csv`` to its
labelled anomaly windows ``[start, end]`` (inclusive, timestamps of the file). NAB's rules, from
the datasets README and NAB's own scorer (numenta/NAB ``nab/sweeper.py``):

- the first 15% of each file, at most 750 readings, is probation: nothing there counts;
- a window is caught when a detection falls inside it; a detection outside every window is a
  false alarm. Detections here are alarm starts (one per event), or, for a per-reading detector,
  every flagged reading (how that detector reported);
- the standard profile: each window scores the best of its detections, sigmoid(position) scaled
  to 1 at the window's start and 0 at its end (A_TP = 1), or -1 when missed (A_FN = -1); each
  false alarm costs 0.11 x sigmoid of its distance past the previous window (A_FP = -0.11, the
  full cost well away from a window); normalised so that a detector that never fires scores 0 and
  one that fires once at the start of every window scores 100.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
DATASETS = PROJECT.parent / "shared" / "datasets" / "nab"
PROBATION_SHARE, PROBATION_MAX = 0.15, 750
A_TP, A_FP, A_FN = 1.0, 0.11, 1.0  # NAB's standard profile (the FP weight enters negatively)


@dataclass(frozen=True)
class LabelledSeries:
    name: str
    series: pd.Series  # values on a UTC DatetimeIndex, file order
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]


@dataclass(frozen=True)
class FileScore:
    """One file: how many windows got a detection, false alarms, NAB's raw score and its bounds."""

    name: str
    readings: int
    scored: int  # readings after probation
    windows: int
    caught: int
    false_alarms: int
    raw: float  # NAB standard-profile score before normalising
    null: float  # the same for a detector that never fires
    perfect: float  # and for one that fires at the start of every window

    @property
    def per_thousand(self) -> float:
        return 1000.0 * self.false_alarms / self.scored if self.scored else 0.0


def load(folder: Path = DATASETS) -> list[LabelledSeries]:
    """Every labelled file of ``windows.json`` in its order; FileNotFoundError names the folder."""
    labels = json.loads((folder / "windows.json").read_text(encoding="utf-8"))
    found = []
    for key, windows in labels.items():
        name = Path(key).stem
        frame = pd.read_csv(folder / f"{name}.csv", parse_dates=["timestamp"])
        index = pd.DatetimeIndex(frame["timestamp"]).tz_localize("UTC")
        found.append(LabelledSeries(
            name, pd.Series(frame["value"].to_numpy(dtype=float), index=index, name=name),
            [(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")) for start, end in windows],
        ))
    return found


def probation(readings: int) -> int:
    return min(math.floor(PROBATION_SHARE * readings), PROBATION_MAX)


def score_file(labelled: LabelledSeries, detections) -> FileScore:
    """NAB's count of ``detections`` (timestamps) on one file: probation left out, every
    detection outside a window a false alarm, each window scored by its earliest detection."""
    index = labelled.series.index
    first_scored = index[probation(len(index))]
    times = pd.DatetimeIndex(pd.to_datetime(list(detections), utc=True))
    times = times[times >= first_scored].sort_values()
    inside = np.zeros(len(times), bool)
    raw, caught = 0.0, 0
    window_rows = [(index.searchsorted(start), index.searchsorted(end, side="right") - 1) for start, end in labelled.windows]
    for (start, end), (first, last) in zip(labelled.windows, window_rows):
        hits = (times >= start) & (times <= end)
        inside |= hits
        if hits.any():
            caught += 1
            position = index.searchsorted(times[hits][0])
            raw += A_TP * _sigmoid(-(last - position + 1) / (last - first + 1)) / _sigmoid(-1.0)
        else:
            raw -= A_FN
    for time in times[~inside]:  # each false alarm, costed by how far past the last window it is
        position = index.searchsorted(time)
        before = [(first, last) for first, last in window_rows if last < position]
        if before:
            first, last = before[-1]
            raw += A_FP * _sigmoid(abs(last - position) / max(last - first, 1))
        else:
            raw += A_FP * _sigmoid(3.0)
    windows = len(labelled.windows)
    return FileScore(
        labelled.name, len(index), len(index) - probation(len(index)), windows, caught,
        int((~inside).sum()), raw, -A_FN * windows, A_TP * windows,
    )


def nab_score(scores: list[FileScore]) -> float:
    """NAB's normalised score over files: 100 x (raw - null) / (perfect - null), each summed first."""
    raw, null, perfect = (sum(getattr(score, name) for score in scores) for name in ("raw", "null", "perfect"))
    return 100.0 * (raw - null) / (perfect - null) if perfect > null else float("nan")


def total(scores: list[FileScore], name: str = "all") -> FileScore:
    """The files' counts added up (rates and the NAB score then follow from the sums)."""
    return FileScore(name, *(sum(getattr(score, field) for score in scores) for field in (
        "readings", "scored", "windows", "caught", "false_alarms", "raw", "null", "perfect")))


def _sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 2 / (1 + e^(5 x)) - 1, and -1 from 3 window lengths past a window."""
    return -1.0 if position >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0
