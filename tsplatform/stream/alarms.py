"""Alarm events from a sensor series: causal scores, a threshold from the data's own history, and
a cool-down, so one incident is one alarm and a person is not paged for every odd reading.

Every reading is compared with what its own past predicted (nothing after it is used, so a live
detector gets the same answer as a replay):

- three predictors: the median of the last ``level_window`` (the recent level), a line through
  the last ``trend_window`` (median of its newer half + half the change from its older half: a
  smooth cycle is followed without lag), and the median of the readings at the same time one, two
  and three ``season`` lengths ago (a weekly cycle: taxis, offices);
- the reading is compared with the predictor whose median absolute error over the last
  ``history`` was smallest; the seasonal one only once it has a whole ``history`` of errors and
  at most half the error of the best other one (a cycle has to be clear before it is trusted);
- score = error / sigma, sigma = 1.4826 x median |error| over the last ``history`` (robust
  standard deviations; 1.2533 x mean |error| where that median is 0);
- threshold = the larger of ``threshold`` sigmas and ``tail_factor`` x the 99th percentile of the
  last ``history``'s errors on the reading's side, in sigmas: a series whose normal life has
  spikes (a busy CPU) must beat its usual spikes by half again, a quiet one only the fixed bar.

An alarm is a run of anomalous readings in which each follows the previous one by less than
``cooldown``; a new alarm needs a full cool-down without anomalous readings. Every window is a
time span, so a sensor sampled every second and one sampled every 30 minutes behave alike.
Measured on the shared NAB series: ``benchmarks/alarms.py`` and ``tsplatform/stream/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsplatform.stream.series import collapse_duplicates

MAD_TO_SIGMA = 1.4826  # a normal distribution's median |deviation| x this = its standard deviation
MEAN_AD_TO_SIGMA = 1.2533  # the same for the mean |deviation| (when most errors are exactly 0)
TAIL_QUANTILE = 0.99  # the side's usual extreme: exceeded by 1 reading in 100 of the history
SEASONS = 3  # the seasonal predictor is the median of this many earlier cycles (one odd week is outvoted)
SEASON_ADVANTAGE = 0.5  # the seasonal predictor must at least halve the best other error
SEASON_MATCH = pd.Timedelta("30min")  # readings within +/- half of this around the same time of an earlier cycle
MIN_HISTORY_READINGS = 50  # errors a history needs before its percentiles and sigma mean anything
MIN_WINDOW_READINGS = 3  # a median of 3 or more is not moved by one spike: fewer, and the predictor abstains
PREDICTORS = ("level", "trend", "season")
SCORE_COLUMNS = ["value", "expected", "predictor", "score", "threshold", "is_anomaly"]
ALARM_COLUMNS = ["start", "end", "peak_ts", "peak_value", "peak_score", "readings", "threshold"]


@dataclass(frozen=True)
class AlarmSettings:
    """The detector's knobs; the defaults are the ones measured on NAB (see the module docstring)."""

    threshold: float = 8.0  # robust standard deviations a reading must be off
    cooldown: str = "1D"  # anomalous readings closer than this are one alarm
    history: str = "7D"  # sigma, percentiles and the choice of predictor come from this much past
    tail_factor: float = 1.5  # x the side's 99th percentile of past errors
    level_window: str = "3h"
    trend_window: str = "1h"
    season: str | None = "7D"  # None: no seasonal predictor

    def __post_init__(self) -> None:
        if not self.threshold > 0 or not self.tail_factor > 0:
            raise ValueError("threshold and tail_factor must be positive")
        for name in ("cooldown", "history", "level_window", "trend_window") + (("season",) if self.season else ()):
            _span(getattr(self, name), name)

    def lookback(self) -> pd.Timedelta:
        """How much past a reading's score depends on: what a caller must supply before new readings."""
        seasons = SEASONS * _span(self.season, "season") + SEASON_MATCH if self.season else pd.Timedelta(0)
        return _span(self.history, "history") + max(
            _span(self.level_window, "level_window"), _span(self.trend_window, "trend_window"), seasons
        )


def score_readings(series: pd.Series, settings: AlarmSettings | None = None) -> pd.DataFrame:
    """Score every reading against its own past (see the module docstring).

    Returns a frame on the series' distinct timestamps (sorted; repeated timestamps averaged,
    missing values dropped) with columns value, expected (what the chosen predictor said),
    predictor, score (signed, in robust standard deviations), threshold (in the same unit) and
    is_anomaly (|score| > threshold). Readings without enough history score NaN, never anomalous.
    """
    if not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("score_readings needs a Series on a DatetimeIndex")
    settings = settings or AlarmSettings()
    values = collapse_duplicates(series)
    if len(values) < 2:  # nothing to compare with
        frame = pd.DataFrame({"value": values.to_numpy(), "expected": np.nan, "predictor": None, "score": np.nan,
                              "threshold": np.nan, "is_anomaly": False}, index=values.index)
        return frame[SCORE_COLUMNS]
    history = _span(settings.history, "history")
    predictions = _predictions(values, settings)
    stats = {name: _error_stats(values - expected, history) for name, expected in predictions.items()}
    chosen = _choose(stats, values.index, history)

    rows = np.arange(len(values))

    def pick(key: str) -> np.ndarray:  # the chosen predictor's value of ``key``, reading by reading
        return np.vstack([stats[name][key] for name in PREDICTORS])[chosen, rows]

    error, sigma, high, low = pick("error"), pick("sigma"), pick("high"), pick("low")
    expected = np.vstack([predictions[name].to_numpy() for name in PREDICTORS])[chosen, rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(error == 0, 0.0, error / sigma)
        tail = np.where(error > 0, np.maximum(high, 0.0), np.maximum(-low, 0.0)) / sigma
    threshold = np.where(sigma > 0, np.fmax(settings.threshold, settings.tail_factor * tail), settings.threshold)
    unscored = np.isnan(sigma) | np.isnan(error)
    score[unscored] = np.nan
    threshold[unscored] = np.nan
    return pd.DataFrame(
        {
            "value": values.to_numpy(),
            "expected": expected,
            "predictor": np.array(PREDICTORS, dtype=object)[chosen],
            "score": score,
            "threshold": threshold,
            "is_anomaly": np.abs(np.nan_to_num(score)) > np.nan_to_num(threshold, nan=np.inf),
        },
        index=values.index,
    )


def group_alarms(scored: pd.DataFrame, cooldown: str | pd.Timedelta, previous: pd.Series | None = None) -> pd.DataFrame:
    """The alarms in ``score_readings`` output: anomalous readings less than ``cooldown`` apart are
    one alarm (start, end, its most extreme reading: peak_ts, peak_value, peak_score, the threshold
    there, and the number of anomalous readings).

    previous: the latest alarm already raised (a row with the ``ALARM_COLUMNS``), for a caller that
        scores a stream piece by piece: anomalous readings within ``cooldown`` of its end continue
        it; the first row returned is then that alarm, updated, with ``continued`` True. Readings up
        to its end are taken as counted already (a re-scanned span does not count them twice).
    """
    gap = _span(cooldown, "cooldown")
    flagged = scored[scored["is_anomaly"]].sort_index()
    if previous is not None:
        flagged = flagged[flagged.index > pd.Timestamp(previous["end"])]
    times = flagged.index
    starts = np.r_[True, np.diff(times.asi8) >= gap.value] if len(times) else np.zeros(0, bool)
    group = np.cumsum(starts) - 1
    continues = previous is not None and len(times) and times[0] - pd.Timestamp(previous["end"]) < gap
    alarms = []
    for number in range(int(group.max()) + 1 if len(times) else 0):
        rows = flagged[group == number]
        peak = int(np.argmax(np.abs(rows["score"].to_numpy())))
        alarm = {
            "start": rows.index[0], "end": rows.index[-1], "peak_ts": rows.index[peak],
            "peak_value": float(rows["value"].iloc[peak]), "peak_score": float(rows["score"].iloc[peak]),
            "readings": len(rows), "threshold": float(rows["threshold"].iloc[peak]), "continued": False,
        }
        if number == 0 and continues:
            alarm = _continue(previous, alarm)
        alarms.append(alarm)
    return pd.DataFrame(alarms, columns=ALARM_COLUMNS + ["continued"])


def detect_alarms(series: pd.Series, settings: AlarmSettings | None = None) -> pd.DataFrame:
    """``group_alarms(score_readings(series, settings), settings.cooldown)``."""
    settings = settings or AlarmSettings()
    return group_alarms(score_readings(series, settings), settings.cooldown)


def _predictions(values: pd.Series, settings: AlarmSettings) -> dict[str, pd.Series]:
    """Each predictor's guess for every reading from the readings strictly before it."""
    level_window = _span(settings.level_window, "level_window")
    level = values.rolling(level_window, closed="left", min_periods=MIN_WINDOW_READINGS).median()
    half = _span(settings.trend_window, "trend_window") / 2
    newer = values.rolling(half, closed="left", min_periods=MIN_WINDOW_READINGS).median()
    # the older half's median: the newer-half median of the first reading at least half a window back
    back = np.searchsorted(values.index.asi8, (values.index - half).asi8, side="left")
    older = np.where(back < np.arange(len(values)), newer.to_numpy()[np.minimum(back, len(values) - 1)], np.nan)
    trend = pd.Series(newer.to_numpy() + 0.5 * (newer.to_numpy() - older), index=values.index)
    season = pd.Series(np.nan, index=values.index)
    if settings.season:
        around = values.rolling(SEASON_MATCH, center=True, min_periods=1).median()
        period = _span(settings.season, "season")
        earlier = [
            around.reindex(values.index - cycle * period, method="nearest", tolerance=SEASON_MATCH / 2).to_numpy()
            for cycle in range(1, SEASONS + 1)
        ]
        season = pd.Series(np.median(np.vstack(earlier), axis=0), index=values.index)  # NaN unless all cycles exist
    return {"level": level, "trend": trend, "season": season}


def _error_stats(errors: pd.Series, history: pd.Timedelta) -> dict[str, np.ndarray]:
    """This reading's error and, over the ``history`` before it, the typical |error|, sigma and
    the 1st and 99th percentiles of the errors."""
    past = errors.rolling(history, closed="left", min_periods=MIN_HISTORY_READINGS)
    size = errors.abs().rolling(history, closed="left", min_periods=MIN_HISTORY_READINGS)
    typical = size.median().to_numpy()
    sigma = np.where(typical > 0, MAD_TO_SIGMA * typical, MEAN_AD_TO_SIGMA * size.mean().to_numpy())
    return {
        "error": errors.to_numpy(), "typical": typical, "sigma": sigma,
        "high": past.quantile(TAIL_QUANTILE).to_numpy(), "low": past.quantile(1 - TAIL_QUANTILE).to_numpy(),
    }


def _choose(stats: dict[str, dict], index: pd.DatetimeIndex, history: pd.Timedelta) -> np.ndarray:
    """Per reading, the position in ``PREDICTORS`` of the predictor to trust (see the docstring)."""
    # a predictor with no guess for this reading (too few readings in its window: a gap) cannot be chosen
    level, trend, season = (
        np.where(np.isnan(stats[name]["error"]), np.inf, np.nan_to_num(stats[name]["typical"], nan=np.inf))
        for name in PREDICTORS
    )
    chosen = np.where(trend < level, 1, 0)
    scored = ~np.isnan(stats["season"]["error"])
    if scored.any():
        trusted = index >= index[np.argmax(scored)] + history  # a whole history of seasonal errors
        chosen = np.where(trusted & (season <= SEASON_ADVANTAGE * np.minimum(level, trend)), 2, chosen)
    return chosen


def _continue(previous: pd.Series, alarm: dict) -> dict:
    """The open alarm extended by ``alarm``'s readings: its own start, the later end, the larger peak."""
    merged = {column: previous[column] for column in ALARM_COLUMNS}
    merged["end"] = max(pd.Timestamp(previous["end"]), alarm["end"])
    merged["readings"] = int(previous["readings"]) + alarm["readings"]
    if abs(alarm["peak_score"]) > abs(float(previous["peak_score"])):
        merged.update({key: alarm[key] for key in ("peak_ts", "peak_value", "peak_score", "threshold")})
    merged["start"] = pd.Timestamp(previous["start"])
    merged["continued"] = True
    return merged


def _span(text, name: str) -> pd.Timedelta:
    try:
        span = pd.Timedelta(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {text!r} is not a duration (try 30min, 3h, 1D)") from None
    if pd.isna(span) or span <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration, got {text!r}")
    return span
