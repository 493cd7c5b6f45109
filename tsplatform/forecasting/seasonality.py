"""Yearly seasonality for daily/weekly data, as a deterministic Fourier curve.

SARIMAX and ETS cannot carry a 365-step season cheaply, so when at least two full years
exist the yearly curve is estimated once by least squares on the whole history and
removed before those models are fitted, then added back to their forecasts. The curve is
only used when it is (a) worth its parameters by BIC, (b) repeats: the shapes fitted to
the first and to the last year separately must agree, and (c) explains the slow movement:
what is left after removing it must not still wander. A random walk's wander fits a sine
well within one year, but rarely the same sine in both years, and never leaves a calm
remainder. Two years cannot prove a cycle; these tests keep false alarms rare.
The curve is treated as known when the models compute their intervals: with two or more
years behind 4 harmonics its estimation error is small next to the forecast error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

YEARLY_FOURIER_ORDER = 4
MIN_YEAR_TO_YEAR_CORRELATION = 0.5
# Slow residual movement may be at most this share of the yearly curve's variance.
# Simulated two-year daily series: a random walk passes both tests ~4% of the time,
# a 10%-amplitude yearly cycle in Poisson counts ~100%, with a random-walk level ~94%.
MAX_LEFTOVER_WANDER = 0.25


@dataclass(frozen=True)
class YearlyFourier:
    """A yearly curve: ``values(positions)`` for step positions counted from the series start."""

    period: float
    order: int
    coefficients: tuple[float, ...]
    year_to_year_correlation: float
    leftover_wander: float = 0.0

    def values(self, positions: np.ndarray) -> np.ndarray:
        terms = fourier_terms(np.asarray(positions, dtype=float), self.period, self.order)
        return terms @ np.asarray(self.coefficients)

    def scaled(self, factor: float) -> YearlyFourier:
        """The same curve for the series divided by ``factor``."""
        return replace(self, coefficients=tuple(c / factor for c in self.coefficients))

    def describe(self) -> dict:
        return {
            "period": round(self.period, 3),
            "order": self.order,
            "year_to_year_correlation": round(self.year_to_year_correlation, 3),
            "leftover_wander": round(self.leftover_wander, 4),
        }


def has_two_years(n_points: int, periods_per_year: float | None) -> bool:
    return periods_per_year is not None and n_points >= math.floor(2 * periods_per_year)


def fourier_terms(positions: np.ndarray, period: float, order: int) -> np.ndarray:
    """Columns sin(2πkt/P), cos(2πkt/P) for k = 1..order."""
    angles = 2 * np.pi * np.outer(positions, np.arange(1, order + 1)) / period
    return np.hstack([np.sin(angles), np.cos(angles)])


def detect_yearly_fourier(
    values: np.ndarray, periods_per_year: float | None, order: int = YEARLY_FOURIER_ORDER
) -> YearlyFourier | None:
    """The yearly curve of ``values`` if two years exist and the pattern is real, else None."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if periods_per_year is None or not has_two_years(n, periods_per_year) or not np.all(np.isfinite(values)):
        return None
    positions = np.arange(n, dtype=float)
    trend = np.column_stack([np.ones(n), positions / n])
    fourier = fourier_terms(positions, periods_per_year, order)
    with_fourier = np.hstack([trend, fourier])
    rss_without = _residual_sum_of_squares(trend, values)
    rss_with = _residual_sum_of_squares(with_fourier, values)
    if rss_without <= 1e-12 * max(1.0, float(np.sum(values**2))):
        return None
    bic_without = n * math.log(rss_without / n) + trend.shape[1] * math.log(n)
    bic_with = n * math.log(max(rss_with, 1e-300) / n) + with_fourier.shape[1] * math.log(n)
    if bic_with >= bic_without:
        return None
    correlation = _year_to_year_correlation(values, positions, periods_per_year, order)
    if not correlation >= MIN_YEAR_TO_YEAR_CORRELATION:
        return None
    coefficients, *_ = np.linalg.lstsq(with_fourier, values, rcond=None)
    curve = fourier @ coefficients[trend.shape[1]:]
    wander = _leftover_wander(values - with_fourier @ coefficients, periods_per_year) / max(np.var(curve), 1e-300)
    if not wander <= MAX_LEFTOVER_WANDER:
        return None
    return YearlyFourier(
        period=float(periods_per_year),
        order=order,
        coefficients=tuple(float(c) for c in coefficients[trend.shape[1]:]),
        year_to_year_correlation=float(correlation),
        leftover_wander=float(wander),
    )


def _residual_sum_of_squares(design: np.ndarray, values: np.ndarray) -> float:
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residuals = values - design @ coefficients
    return float(residuals @ residuals)


def _leftover_wander(residuals: np.ndarray, period: float) -> float:
    """Variance of the month-scale moving average of the residuals: the slow movement the
    yearly curve did not explain. Noise averages out; a random walk's drift does not."""
    window = max(3, int(round(period / 12)) | 1)
    if len(residuals) <= window:
        return float("inf")
    smoothed = np.convolve(residuals, np.ones(window) / window, mode="valid")
    return float(np.var(smoothed))


def _year_to_year_correlation(values, positions, period, order) -> float:
    """Correlation of the yearly shapes fitted separately to the first and the last year."""
    year = int(round(period))
    one_cycle = np.arange(year, dtype=float)
    shapes = []
    for window in (slice(0, year), slice(len(values) - year, len(values))):
        local = positions[window]
        design = np.column_stack(
            [np.ones(len(local)), (local - local[0]) / year, fourier_terms(local, period, order)]
        )
        coefficients, *_ = np.linalg.lstsq(design, values[window], rcond=None)
        shapes.append(fourier_terms(one_cycle, period, order) @ coefficients[2:])
    if np.std(shapes[0]) == 0 or np.std(shapes[1]) == 0:
        return float("nan")
    return float(np.corrcoef(shapes[0], shapes[1])[0, 1])
