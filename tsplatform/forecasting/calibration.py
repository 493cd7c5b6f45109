"""Intervals that mean what they say: split-conformal calibration from backtest errors.

A model's own interval is often too narrow or too wide for the data at hand. The backtest
windows already show how far each actual fell from the forecast *relative to the model's own
interval*; that ratio is the nonconformity score

    y >= yhat:  s = (y - yhat) / (upper - yhat)        y < yhat:  s = (yhat - y) / (yhat - lower)

(s <= 1 means the actual was inside the raw interval). The model's factor is the conformal
quantile of its scores at level ceil((n + 1) q) / n, capped to ``FACTOR_RANGE``; the calibrated
bounds are ``yhat -/+ factor * (raw half-width on that side)``. Because the score is scaled by
the model's own interval, the shape (growth with the step, asymmetry) is kept and a few origins
are enough. The scores only need the same raw interval as the forecast being calibrated, so
scores of 95% intervals calibrate those intervals to any target level ``q``.

A 95% factor from three windows of 13 weekly steps rests on the two largest of 39 scores: on the
M4 weekly series that noise alone left calibrated 95% intervals covering 0.91. So the factor is
pulled toward the one the raw interval implies for level ``q`` (1 at its own level; the Gaussian
ratio z(q) / z(raw level) otherwise), weighted by how many scores lie beyond the quantile:
``w = n (1 - q) / (n (1 - q) + TAIL_PRIOR_SCORES)`` (``shrunk_factor``). Many scores: the conformal
factor; a handful: closer to the model's own interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist

import numpy as np
import pandas as pd

POINT_COLUMNS = ["model", "step", "y", "yhat", "lower", "upper"]
SCORE_COLUMNS = ["model", "step", "score"]
# lower cap 0.1: Theta's raw hourly interval is ~5x too wide, and 0.2 left its 80% interval covering 0.85
FACTOR_RANGE = (0.1, 10.0)
# a half-width below this share of the series' scale counts as zero (guards the division)
EPSILON_SHARE = 1e-6
# what the raw interval is worth, in scores beyond the quantile (chosen on M4 weekly, checked on
# M4 hourly and generated daily: benchmarks/RESULTS.md)
TAIL_PRIOR_SCORES = 0.5


def nonconformity_scores(points: pd.DataFrame) -> pd.DataFrame:
    """One score per backtest point (columns model, step, score) from its y, yhat, lower, upper."""
    if points.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    y, yhat, lower, upper = (points[c].to_numpy(dtype=float) for c in ("y", "yhat", "lower", "upper"))
    scale = float(np.nanmean(np.abs(y))) if np.isfinite(y).any() else 0.0
    epsilon = EPSILON_SHARE * scale if scale > 0 else EPSILON_SHARE
    above = y >= yhat
    width = np.where(above, upper - yhat, yhat - lower)
    score = np.abs(y - yhat) / np.maximum(width, epsilon)
    frame = pd.DataFrame({"model": points["model"].to_numpy(), "step": points["step"].to_numpy(), "score": score})
    return frame[np.isfinite(score)].reset_index(drop=True)


def conformal_factor(scores: Iterable[float], interval: float) -> float | None:
    """The ceil((n + 1) q)-th smallest score, capped to ``FACTOR_RANGE``; None when there are
    too few scores for that rank to exist (fewer than 19 for 95%, e.g. one short window): the
    raw interval is then the better guess than the widest one allowed."""
    values = np.sort(np.asarray(list(scores), dtype=float))
    n = len(values)
    if n == 0:
        raise ValueError("no scores to calibrate from")
    rank = math.ceil((n + 1) * interval)
    if rank > n:
        return None
    return float(np.clip(values[rank - 1], *FACTOR_RANGE))


def shrunk_factor(factor: float, n: int, interval: float, raw_level: float) -> float:
    """``factor`` (the conformal one, from ``n`` scores) pulled toward the raw interval's own
    factor for ``interval`` by how few scores lie beyond the quantile (see the module docstring)."""
    prior = _z(interval) / _z(raw_level)
    tail = n * (1 - interval)
    weight = tail / (tail + TAIL_PRIOR_SCORES)
    return float(np.clip(weight * factor + (1 - weight) * prior, *FACTOR_RANGE))


def _z(level: float) -> float:
    return NormalDist().inv_cdf((1 + level) / 2)


def plausible_envelope(history: pd.Series) -> tuple[float, float]:
    """The range the ``forecasts_are_plausible`` check allows around ``history``: calibration may
    widen a bound up to it, never past it (a series whose backtest windows saw a regime change
    can ask for the factor cap, which would make a plausible forecast implausible)."""
    from .plausibility import RANGE_SLACK

    values = pd.to_numeric(history, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return -np.inf, np.inf
    low, high = float(values.min()), float(values.max())
    span = (high - low) or max(abs(high), 1.0)
    return low - RANGE_SLACK * span, high + RANGE_SLACK * span


def calibrate(forecast_frame: pd.DataFrame, backtest_scores: pd.DataFrame, interval: float,
              envelope: tuple[float, float] | None = None) -> pd.DataFrame:
    """A copy of ``forecast_frame`` (columns model, ds, yhat, lower, upper, flag) with each model's
    interval scaled by its conformal factor for the target level ``interval``.

    ``backtest_scores`` has columns model and score (``nonconformity_scores``), or the raw
    backtest points (model, step, y, yhat, lower, upper), from intervals of the same level as
    ``forecast_frame``'s. A model with no scores keeps its interval. Flags are unchanged;
    ``attrs["settings"]["calibration"]`` records per model ``factor`` (the one applied, after
    ``shrunk_factor``; None: untouched), ``conformal_factor`` and ``scores``. The raw level is
    ``attrs["settings"]["interval"]`` (default: ``interval``).
    Bounds stay clipped at zero when the series is non-negative, and a widened bound stops at
    ``envelope`` (``plausible_envelope``) when given (a raw bound already past it is kept).
    """
    if "score" not in backtest_scores.columns:
        backtest_scores = nonconformity_scores(backtest_scores)
    calibrated = forecast_frame.copy()
    settings = dict(forecast_frame.attrs.get("settings", {}))
    nonnegative = bool(settings.get("series", {}).get("nonnegative", False))
    raw_level = float(settings.get("interval", interval))
    record: dict[str, dict[str, float | int | None]] = {}
    for model, rows in calibrated.groupby("model", sort=False).groups.items():
        scores = backtest_scores.loc[backtest_scores["model"] == model, "score"].to_numpy(dtype=float)
        if len(scores) == 0:
            record[str(model)] = {"factor": None, "scores": 0}
            continue
        factor = conformal_factor(scores, interval)
        if factor is None:
            record[str(model)] = {"factor": None, "scores": int(len(scores))}
            continue
        conformal, factor = factor, shrunk_factor(factor, len(scores), interval, raw_level)
        yhat = calibrated.loc[rows, "yhat"]
        lower = yhat - factor * (yhat - calibrated.loc[rows, "lower"])
        upper = yhat + factor * (calibrated.loc[rows, "upper"] - yhat)
        if envelope is not None:
            raw_lower, raw_upper = calibrated.loc[rows, "lower"], calibrated.loc[rows, "upper"]
            lower = np.maximum(lower, np.minimum(raw_lower, envelope[0]))
            upper = np.minimum(upper, np.maximum(raw_upper, envelope[1]))
        if nonnegative:
            lower, upper = lower.clip(lower=0.0), upper.clip(lower=0.0)
        calibrated.loc[rows, "lower"], calibrated.loc[rows, "upper"] = lower, upper
        record[str(model)] = {"factor": round(factor, 4), "conformal_factor": round(conformal, 4),
                              "scores": int(len(scores))}
    settings["calibration"] = record
    calibrated.attrs = {**forecast_frame.attrs, "settings": settings}
    return calibrated


def calibrate_from_windows(forecast_frame: pd.DataFrame, window_results, interval: float | None = None,
                           history: pd.Series | None = None) -> pd.DataFrame:
    """``calibrate`` with the points of backtest ``WindowResult``s, what ``forecast_categories``
    does; the target level defaults to the forecast's own, ``history`` (the series forecast)
    gives the envelope. No windows (a short series): intervals as they were, factors None."""
    if interval is None:
        interval = float(forecast_frame.attrs.get("settings", {}).get("interval", 0.95))
    frames = [r.points for r in window_results if r.points is not None and not r.points.empty]
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=POINT_COLUMNS)
    envelope = plausible_envelope(history) if history is not None else None
    return calibrate(forecast_frame, points, interval, envelope)
