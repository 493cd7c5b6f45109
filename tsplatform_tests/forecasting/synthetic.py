"""Generated series with known structure, shared by the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEKLY_PATTERN = np.array([0.0, -6.0, -8.0, -5.0, 1.0, 8.0, 10.0])  # sums to 0
NOISE_SD = 2.0


def daily_index(n: int, start: str = "2023-01-02") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


def weekly_trend_truth(n: int, level: float = 100.0, slope: float = 0.2) -> np.ndarray:
    """Noise-free level + linear trend + weekly pattern."""
    t = np.arange(n)
    return level + slope * t + WEEKLY_PATTERN[t % 7]


def weekly_trend_series(n: int, seed: int = 0, **kwargs) -> pd.Series:
    rng = np.random.default_rng(seed)
    truth = weekly_trend_truth(n, **kwargs)
    return pd.Series(truth + rng.normal(0, NOISE_SD, n), index=daily_index(n), name="sales")


def yearly_truth(n: int) -> np.ndarray:
    t = np.arange(n)
    return 200 + 0.02 * t + 25 * np.sin(2 * np.pi * t / 365.25) + WEEKLY_PATTERN[t % 7]


def yearly_series(n: int = 730, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(yearly_truth(n) + rng.normal(0, NOISE_SD, n), index=daily_index(n, "2022-01-01"))


def random_walk_series(n: int = 730, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(500 + np.cumsum(rng.normal(0, 3, n)), index=daily_index(n, "2022-01-01"))


def intermittent_series(n: int = 120, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    demand = rng.binomial(1, 0.2, n) * rng.poisson(4, n)
    return pd.Series(demand.astype(float), index=daily_index(n))
