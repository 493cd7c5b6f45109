"""Forecast accuracy metrics, written so each can be checked by hand.

* ``smape``: symmetric MAPE in percent, 0..200: mean of 200 * |F - A| / (|A| + |F|);
  a term where actual and forecast are both 0 is a perfect forecast and counts as 0.
* ``mase``: mean absolute error divided by the in-sample MAE of the seasonal naive
  forecast (Hyndman & Koehler 2006). Below 1 beats the seasonal naive benchmark.
* ``interval_coverage``: share of actuals inside [lower, upper] (bounds included).
"""

from __future__ import annotations

import numpy as np


def smape(actual, predicted) -> float:
    actual, predicted = _pair(actual, predicted)
    if len(actual) == 0:
        return float("nan")
    denominator = np.abs(actual) + np.abs(predicted)
    numerator = 2 * np.abs(predicted - actual)
    terms = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return float(100 * np.mean(terms))


def mase_scale(training, season_length: int = 1) -> float:
    """The MASE denominator, with a fallback chain so it is never 0.

    1. mean |y_t - y_{t-m}| over the training data (seasonal naive in-sample MAE);
    2. if that is 0 or undefined: the same with m = 1 (naive);
    3. if still 0 (constant history): the mean |y| of the training data;
    4. if that is 0 too (all zeros): 1, so MASE becomes the plain MAE.
    """
    training = np.asarray(training, dtype=float)
    training = training[np.isfinite(training)]
    for lag in dict.fromkeys((max(int(season_length), 1), 1)):
        if len(training) > lag:
            scale = float(np.mean(np.abs(training[lag:] - training[:-lag])))
            if scale > 0:
                return scale
    level = float(np.mean(np.abs(training))) if len(training) else 0.0
    return level if level > 0 else 1.0


def mase(actual, predicted, training, season_length: int = 1) -> float:
    actual, predicted = _pair(actual, predicted)
    if len(actual) == 0:
        return float("nan")
    return float(np.mean(np.abs(predicted - actual)) / mase_scale(training, season_length))


def interval_coverage(actual, lower, upper) -> float:
    actual = np.asarray(actual, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if not actual.shape == lower.shape == upper.shape:
        raise ValueError("actual, lower and upper must have the same length")
    if len(actual) == 0:
        return float("nan")
    return float(np.mean((actual >= lower) & (actual <= upper)))


def _pair(actual, predicted) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if actual.shape != predicted.shape:
        raise ValueError("actual and predicted must have the same length")
    return actual, predicted
