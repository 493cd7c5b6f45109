"""Turn a user's series into the regular, gap-free series every model expects.

Done once per forecast so all models see the same data and the same data-level flags
(short, constant, intermittent, gaps filled, too short for a seasonal term).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from . import flags as F
from .frequency import FrequencyProfile, describe_frequency, infer_frequency
from .seasonality import YearlyFourier, detect_yearly_fourier, has_two_years

# Fewer observed points than this and no model is fitted: the last value is carried forward.
MIN_POINTS_FOR_MODELS = 8
# Syntetos & Boylan (2005): average inter-demand interval above 1.32 means intermittent demand.
INTERMITTENT_MEAN_INTERVAL = 1.32


@dataclass(frozen=True)
class PreparedSeries:
    """A series on a regular calendar with gaps filled, plus what was done to it."""

    values: pd.Series  # regular DatetimeIndex, float, no NaN
    observed: np.ndarray  # True where the value was observed, False where it was filled
    profile: FrequencyProfile
    nonnegative: bool
    yearly: YearlyFourier | None
    flags: tuple[str, ...]
    notes: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def season_length(self) -> int:
        return self.profile.season_length

    @property
    def use_season(self) -> bool:
        """True when at least two full short cycles exist, so a seasonal term can be estimated."""
        return self.season_length > 1 and self.n >= 2 * self.season_length

    @property
    def is_constant(self) -> bool:
        return F.CONSTANT_SERIES in self.flags

    @property
    def is_short(self) -> bool:
        return F.NAIVE_SHORT_SERIES in self.flags

    def array(self) -> np.ndarray:
        return self.values.to_numpy(dtype=float)

    def scaled(self, factor: float) -> PreparedSeries:
        """The series divided by ``factor`` (extreme magnitudes are rescaled; see ``runner``)."""
        return replace(
            self,
            values=self.values / factor,
            yearly=self.yearly.scaled(factor) if self.yearly is not None else None,
        )

    def future_index(self, horizon: int) -> pd.DatetimeIndex:
        start = self.values.index[-1] + self.profile.offset
        return pd.date_range(start, periods=horizon, freq=self.profile.offset, name="ds")

    def settings(self) -> dict:
        """Plain-data description for ``DataFrame.attrs['settings']['series']``."""
        observed = self.values[self.observed]
        return {
            "freq": self.profile.alias,
            "kind": self.profile.kind,
            "season_length": self.season_length,
            "seasonal_term": self.use_season,
            "yearly_seasonality": self.yearly.describe() if self.yearly else None,
            "n_points": self.n,
            "n_observed": int(self.observed.sum()),
            "first": str(self.values.index[0]),
            "last": str(self.values.index[-1]),
            "nonnegative": self.nonnegative,
            "history_min": float(observed.min()),
            "history_max": float(observed.max()),
            **self.notes,
        }


def prepare_series(
    series: pd.Series,
    *,
    freq: str | pd.DateOffset | None = None,
    end: pd.Timestamp | None = None,
    nonnegative: bool | None = None,
) -> PreparedSeries:
    """Regularize ``series`` onto its calendar (inferred unless ``freq`` is given).

    ``end`` extends the calendar past the last observation (used by backtests whose origin
    falls on a gap); trailing points are carried forward, never interpolated from the future.
    ``nonnegative=None`` means "True when the history has no negative values".
    """
    clean, notes = _clean(series)
    if clean.empty:
        raise ValueError("series has no finite observed values")
    offset = to_offset(freq) if freq is not None else infer_frequency(_all_timestamps(series, clean))
    if offset is None:
        offset = pd.offsets.Day()
        notes["freq_assumed"] = "single observation: daily calendar assumed"
    profile = describe_frequency(offset)

    grid_end = clean.index[-1] if end is None else pd.Timestamp(end)
    if grid_end < clean.index[-1]:
        raise ValueError("end is before the last observation")
    grid = pd.date_range(clean.index[0], grid_end, freq=offset)
    off_grid = ~clean.index.isin(grid)
    if off_grid.any():
        raise ValueError(
            f"{int(off_grid.sum())} timestamps are not on the {offset.freqstr} calendar, "
            f"e.g. {clean.index[off_grid][0]}"
        )
    regular = clean.reindex(grid)
    observed = regular.notna().to_numpy()
    n_filled = int((~observed).sum())

    if nonnegative is None:
        nonnegative = bool((clean >= 0).all())
    filled = _fill_gaps(regular, profile.season_length)
    if nonnegative:
        filled = filled.clip(lower=0.0)
    if n_filled:
        notes["filled_points"] = n_filled
        notes["fill_method"] = (
            "linear interpolation of the seasonally adjusted series (trailing points carried forward)"
        )

    data_flags = _data_flags(clean.to_numpy(), filled, n_filled, profile)
    yearly = None
    if F.NAIVE_SHORT_SERIES not in data_flags and F.CONSTANT_SERIES not in data_flags:
        yearly = detect_yearly_fourier(filled.to_numpy(), profile.periods_per_year)
    filled.index.name = "ds"
    return PreparedSeries(
        values=filled,
        observed=observed,
        profile=profile,
        nonnegative=bool(nonnegative),
        yearly=yearly,
        flags=tuple(data_flags),
        notes=notes,
    )


def _clean(series: pd.Series) -> tuple[pd.Series, dict]:
    """Numeric values on a sorted, unique DatetimeIndex with NaN/inf dropped."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"expected a pandas Series, got {type(series).__name__}")
    try:
        index = pd.DatetimeIndex(series.index)
    except (TypeError, ValueError) as exc:
        raise TypeError("series must have a DatetimeIndex") from exc
    values = pd.to_numeric(pd.Series(series.to_numpy(), index=index), errors="coerce").astype(float)
    values = values.replace([np.inf, -np.inf], np.nan)[index.notna()]
    notes: dict = {}
    if values.index.has_duplicates:
        notes["duplicate_timestamps_averaged"] = int(values.index.duplicated().sum())
        values = values.groupby(level=0).mean()
    values = values.sort_index().dropna()
    values.index.freq = None
    return values, notes


def _all_timestamps(series: pd.Series, clean: pd.Series) -> pd.DatetimeIndex:
    """Timestamps to infer the calendar from: NaN-valued rows still tell where the grid is."""
    index = pd.DatetimeIndex(series.index)
    if index.freq is not None:
        return index
    return index[index >= clean.index[0]].union(clean.index)


def _fill_gaps(values: pd.Series, season_length: int) -> pd.Series:
    """Interpolate the seasonally adjusted series, then add the seasonal profile back.

    Plain linear interpolation would flatten the weekly pattern inside a gap; filling with
    the average weekday effect keeps it. Trailing gaps carry the last level forward.
    """
    if not values.isna().any():
        return values.astype(float)
    profile = _seasonal_profile(values, season_length)
    positions = np.arange(len(values))
    offsets = profile[positions % len(profile)]
    adjusted = values - offsets
    adjusted = adjusted.interpolate(method="linear", limit_area="inside").ffill().bfill()
    return (adjusted + offsets).astype(float)


def _seasonal_profile(values: pd.Series, season_length: int) -> np.ndarray:
    """Mean deviation from a centred moving average per position in the cycle (zeros if unknown)."""
    if season_length <= 1 or values.notna().sum() < 2 * season_length:
        return np.zeros(1)
    # only complete cycles: a window touching a gap or the series edge would bias the level
    level = values.rolling(season_length, center=True, min_periods=season_length).mean()
    deviation = (values - level).to_numpy()
    positions = np.arange(len(values)) % season_length
    profile = np.zeros(season_length)
    for position in range(season_length):
        here = deviation[positions == position]
        here = here[np.isfinite(here)]
        profile[position] = here.mean() if len(here) else 0.0
    return profile - profile.mean()


def _data_flags(observed_values: np.ndarray, filled: pd.Series, n_filled: int, profile: FrequencyProfile) -> list[str]:
    flags: list[str] = []
    if n_filled:
        flags.append(F.GAPS_FILLED)
    if len(observed_values) < MIN_POINTS_FOR_MODELS:
        flags.append(F.NAIVE_SHORT_SERIES)
    if len(observed_values) >= 2 and np.ptp(observed_values) == 0:
        flags.append(F.CONSTANT_SERIES)
        return flags
    nonzero = np.count_nonzero(observed_values)
    if nonzero and len(observed_values) / nonzero > INTERMITTENT_MEAN_INTERVAL:
        flags.append(F.INTERMITTENT_SERIES)
    if F.NAIVE_SHORT_SERIES not in flags:
        n = len(filled)
        short_cycle_missing = profile.season_length > 1 and n < 2 * profile.season_length
        yearly_only_cycle_missing = (
            profile.season_length == 1
            and profile.periods_per_year is not None
            and not has_two_years(n, profile.periods_per_year)
        )
        if short_cycle_missing or yearly_only_cycle_missing:
            flags.append(F.NO_SEASONAL_TERM)
    return flags
