"""Yearly seasonality for daily/weekly data, as a deterministic Fourier curve.

SARIMAX and ETS cannot carry a 365-step season cheaply, so when at least two full years
exist the yearly curve is estimated once by least squares on the whole history and
removed before those models are fitted, then added back to their forecasts. The curve is
only used when it is (a) worth its parameters by BIC and (b) repeats: the shapes fitted
to the first and to the last year separately must agree. A random walk's slow wander
fits a sine well within one year, but not the same sine in two different years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

YEARLY_FOURIER_ORDER = 4
MIN_YEAR_TO_YEAR_CORRELATION = 0.5


@dataclass(frozen=True)
class YearlyFourier:
    """A yearly curve: ``values(positions)`` for step positions counted from the series start."""

    period: float
    order: int
    coefficients: tuple[float, ...]
    year_to_year_correlation: float

    def values(self, positions: np.ndarray) -> np.ndarray:
        terms = fourier_terms(np.asarray(positions, dtype=float), self.period, self.order)
        return terms @ np.asarray(self.coefficients)

    def describe(self) -> dict:
        return {
            "period": round(self.period, 3),
            "order": self.order,
            "year_to_year_correlation": round(self.year_to_year_correlation, 3),
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
    if not has_two_years(n, periods_per_year) or not np.all(np.isfinite(values)):
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
    return YearlyFourier(
        period=float(periods_per_year),
        order=order,
        coefficients=tuple(float(c) for c in coefficients[trend.shape[1]:]),
        year_to_year_correlation=float(correlation),
    )


def _residual_sum_of_squares(design: np.ndarray, values: np.ndarray) -> float:
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residuals = values - design @ coefficients
    return float(residuals @ residuals)


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
