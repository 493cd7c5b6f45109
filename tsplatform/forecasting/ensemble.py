"""The equal-weight combination of the models' forecasts.

Point forecast: the mean of the members' point forecasts.
Interval: the mean of the members' lower bounds and the mean of their upper bounds
("quantile averaging"). Each bound is a quantile forecast, and averaging quantiles of the
members gives the quantiles of a sensible combined distribution (Lichtendahl, Grushka-
Cockayne & Winkler, 2013, "Is it better to average probabilities or quantiles?"). It is
narrower than the min/max envelope, which over-covers as soon as one member is wide, and
it keeps lower <= yhat <= upper because every member does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .models.base import ModelForecast

ENSEMBLE = "ensemble"
INTERVAL_METHOD = "mean of member bounds (quantile averaging)"


def combine(members: Sequence[ModelForecast]) -> ModelForecast:
    if not members:
        raise ValueError("an ensemble needs at least one member")
    mean = np.mean([m.mean for m in members], axis=0)
    lower = np.mean([m.lower for m in members], axis=0)
    upper = np.mean([m.upper for m in members], axis=0)
    common_flags = set.intersection(*(set(m.flags) for m in members))
    flags = [flag for flag in members[0].flags if flag in common_flags]
    return ModelForecast(mean, np.minimum(lower, mean), np.maximum(upper, mean), flags=flags)
