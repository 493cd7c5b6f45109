"""Which regular calendar a series lives on, and what cycles that calendar implies.

``pd.infer_freq`` gives up as soon as one timestamp is missing, so gaps are handled by
trying a few candidate calendars and keeping the coarsest one that contains every
observed timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pandas.tseries.frequencies import to_offset

DAYS_PER_YEAR = 365.25
# Seasonal cycles longer than this are not fitted natively by SARIMAX/ETS (their state
# grows with the period and fitting gets slow); yearly cycles go through Fourier terms.
MAX_NATIVE_SEASON_LENGTH = 24


@dataclass(frozen=True)
class FrequencyProfile:
    """A regular calendar plus the seasonal facts the models need from it."""

    offset: pd.DateOffset
    kind: str  # subdaily, daily, business, multiday, weekly, monthly, quarterly, yearly, other
    season_length: int  # short cycle fitted natively by the models (1 = none)
    periods_per_year: float | None  # steps per year when yearly needs Fourier terms

    @property
    def alias(self) -> str:
        return self.offset.freqstr


def infer_frequency(index: pd.DatetimeIndex) -> pd.DateOffset | None:
    """The coarsest regular calendar containing every timestamp; None if fewer than 2 points.

    Raises ``ValueError`` when the timestamps fit no regular calendar.
    """
    index = pd.DatetimeIndex(index)
    if index.freq is not None:
        return index.freq
    index = index.sort_values().unique()
    if len(index) < 2:
        return None
    if len(index) >= 3:
        alias = pd.infer_freq(index)
        if alias is not None:
            return to_offset(alias)
    first = index[0]
    smallest_step = index.to_series().diff().dropna().min()
    candidates = _calendar_candidates(first) + [to_offset(smallest_step)]
    best: tuple[int, pd.DateOffset] | None = None
    for offset in candidates:
        grid_size = _grid_size_if_contains(index, offset)
        if grid_size is not None and (best is None or grid_size < best[0]):
            best = (grid_size, offset)
    if best is None:
        raise ValueError(
            "timestamps do not lie on any regular calendar (daily, weekly, monthly, ...); "
            "resample the series before forecasting"
        )
    return best[1]


def _calendar_candidates(first: pd.Timestamp) -> list[pd.DateOffset]:
    month = first.month
    return [
        pd.offsets.Day(),  # calendar days: also right across DST changes in a local time zone
        pd.offsets.BusinessDay(),
        pd.offsets.Week(weekday=first.weekday()),
        pd.offsets.MonthBegin(),
        pd.offsets.MonthEnd(),
        pd.DateOffset(months=1),
        pd.offsets.QuarterBegin(startingMonth=month),
        pd.offsets.QuarterEnd(startingMonth=month),
        pd.DateOffset(months=3),
        pd.offsets.YearBegin(month=month),
        pd.offsets.YearEnd(month=month),
        pd.DateOffset(years=1),
    ]


def _grid_size_if_contains(index: pd.DatetimeIndex, offset: pd.DateOffset) -> int | None:
    first, last = index[0], index[-1]
    if hasattr(offset, "is_on_offset") and not offset.is_on_offset(first):
        return None
    grid = pd.date_range(first, last, freq=offset)
    if len(grid) == 0 or grid[0] != first or not index.isin(grid).all():
        return None
    return len(grid)


def describe_frequency(offset: pd.DateOffset) -> FrequencyProfile:
    """Season length and yearly period for a calendar (weekly cycle for daily data, etc.)."""
    offset = to_offset(offset)
    n = max(int(getattr(offset, "n", 1) or 1), 1)
    if isinstance(offset, pd.offsets.Tick):
        step_days = offset.nanos / pd.Timedelta(days=1).value
        if step_days < 1:
            steps_per_day = 1 / step_days
            whole = round(steps_per_day)
            native = whole if abs(steps_per_day - whole) < 1e-9 and whole <= MAX_NATIVE_SEASON_LENGTH else 1
            return FrequencyProfile(offset, "subdaily", max(native, 1), None)
        if step_days == 1:
            return FrequencyProfile(offset, "daily", 7, DAYS_PER_YEAR)
        kind = "weekly" if step_days == 7 else "multiday"
        return FrequencyProfile(offset, kind, 1, DAYS_PER_YEAR / step_days)
    if isinstance(offset, (pd.offsets.BusinessDay, pd.offsets.CustomBusinessDay)):
        return FrequencyProfile(offset, "business", 5 if n == 1 else 1, DAYS_PER_YEAR * 5 / 7 / n)
    if isinstance(offset, pd.offsets.Week):
        return FrequencyProfile(offset, "weekly", 1, DAYS_PER_YEAR / 7 / n)
    months = _months_per_step(offset)
    if months is not None:
        kind = {1: "monthly", 3: "quarterly", 12: "yearly"}.get(months, "other")
        season = 12 // months if 12 % months == 0 and months < 12 else 1
        return FrequencyProfile(offset, kind, season, None)
    return FrequencyProfile(offset, "other", 1, None)


def _months_per_step(offset: pd.DateOffset) -> int | None:
    n = max(int(getattr(offset, "n", 1) or 1), 1)
    if isinstance(offset, (pd.offsets.MonthBegin, pd.offsets.MonthEnd)):
        return n
    if isinstance(offset, (pd.offsets.QuarterBegin, pd.offsets.QuarterEnd)):
        return 3 * n
    if isinstance(offset, (pd.offsets.YearBegin, pd.offsets.YearEnd)):
        return 12 * n
    if type(offset) is pd.DateOffset:
        kwds = offset.kwds
        if set(kwds) == {"months"}:
            return int(kwds["months"]) * n
        if set(kwds) == {"years"}:
            return 12 * int(kwds["years"]) * n
    return None
