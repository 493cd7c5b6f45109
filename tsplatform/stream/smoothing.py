"""A time-based moving average, for drawing the trend under noisy readings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsplatform.stream.series import as_window, sorted_positions


def smooth(series: pd.Series, window: str | pd.Timedelta | int = "30min", *, center: bool = True) -> pd.Series:
    """Mean of the readings within ``window`` around each reading (centred; ``center=False`` trails).

    A time span rather than a count, so gaps and irregular sampling do not stretch the window.
    Returns a Series indexed like ``series``.
    """
    if not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("smooth needs a Series on a DatetimeIndex")
    order = sorted_positions(series)
    ordered = pd.Series(series.to_numpy(dtype=float)[order], index=series.index[order])
    span = as_window(window, ordered, 1)
    means = ordered.rolling(span, center=center, min_periods=1).mean().to_numpy()
    unsorted = np.empty_like(order)
    unsorted[order] = np.arange(len(order))
    return pd.Series(means[unsorted], index=series.index, name=series.name)
