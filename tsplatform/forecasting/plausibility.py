"""Is a forecast plausible next to its history? The rule behind the ``forecasts_are_plausible`` check.

The models can return finite, ordered numbers that are still absurd (a runaway trend, an exploding
interval, a level ten times anything seen). Two rules, per category and model:

- range: every forecast value lies within
  ``[min(history) - RANGE_SLACK * span, max(history) + RANGE_SLACK * span]``, ``span = max - min``
  of the history (a flat history uses its level, or 1, as the span), and every interval bound of a
  fitted model within ``BOUND_SLACK`` spans; non-finite values fail. A bound gets more room than a
  value: a 30-day interval on a short history (40 days, no backtest to calibrate from) is honestly
  several history ranges wide without being a runaway fit (Holt-Winters reached 4 ranges there and
  failed every refresh of such a category). For the benchmarks (naive, seasonal naive, Theta) only
  the point forecast is held: their bounds are closed-form (sigma of the history's own differences
  times sqrt(steps)), wide on a seasonal series over a long horizon by construction;
- level: the best model's and the ensemble's mean daily forecast over the first 30 days is at most
  ``MAX_LEVEL_RATIO`` times the highest 30-day mean of the history (the whole history's mean when
  it is shorter). The highest, not the latest: an intermittent category whose last month was quiet
  may plausibly return to the level it has had before; a runaway trend exceeds every past level.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .models import BENCHMARK_MODELS

RANGE_SLACK = 2.0
BOUND_SLACK = 5.0
MAX_LEVEL_RATIO = 3.0
LEVEL_DAYS = 30
VALUE_COLUMNS = ["forecast_value", "lower_bound", "upper_bound"]


def implausible_forecasts(
    rows: pd.DataFrame,
    histories: Mapping[str, pd.Series],
    range_slack: float = RANGE_SLACK,
    bound_slack: float = BOUND_SLACK,
    max_level_ratio: float = MAX_LEVEL_RATIO,
) -> pd.DataFrame:
    """One row (category, model_type, rule, detail) per category and model that breaks a rule.

    ``rows``: forecast rows with category, model_type, forecast_date, forecast_value, lower_bound,
    upper_bound, is_best; ``histories``: each category's daily series (the history it was fitted on).
    """
    problems = []
    for (category, model), group in rows.groupby(["category", "model_type"], sort=True):
        history = histories[category].astype("float64")
        low, high = float(history.min()), float(history.max())
        span = (high - low) or max(abs(high), 1.0)
        floor, ceiling = low - range_slack * span, high + range_slack * span
        values = group[VALUE_COLUMNS].to_numpy(dtype="float64")
        points = group["forecast_value"].to_numpy(dtype="float64")
        bounds = group[["lower_bound", "upper_bound"]].to_numpy(dtype="float64")
        bound_floor, bound_ceiling = low - bound_slack * span, high + bound_slack * span
        if not np.isfinite(values).all():
            problems.append((category, model, "range", "non-finite values"))
        elif points.min() < floor or points.max() > ceiling:
            problems.append((category, model, "range",
                             f"values {points.min():.4g}..{points.max():.4g} outside {floor:.4g}..{ceiling:.4g}"))
        elif model not in BENCHMARK_MODELS and (bounds.min() < bound_floor or bounds.max() > bound_ceiling):
            problems.append((category, model, "range", f"interval {bounds.min():.4g}..{bounds.max():.4g} "
                             f"outside {bound_floor:.4g}..{bound_ceiling:.4g}"))
        if model == "ensemble" or bool(group["is_best"].any()):
            highest = float(history.rolling(min(LEVEL_DAYS, len(history))).mean().max())
            ahead = float(group.sort_values("forecast_date")["forecast_value"].iloc[:LEVEL_DAYS].mean())
            if highest > 0 and ahead > max_level_ratio * highest:
                problems.append((category, model, "level", f"mean forecast {ahead:.4g}/day > {max_level_ratio:g} x "
                                 f"the highest {LEVEL_DAYS}-day mean of the history, {highest:.4g}/day"))
    return pd.DataFrame(problems, columns=["category", "model_type", "rule", "detail"])
