"""The short strings written to the ``flag`` column, in one place so callers can match on them.

A row's ``flag`` is the comma-joined list of everything worth reporting (empty when nothing).
"""

from __future__ import annotations

from collections.abc import Iterable

NAIVE_SHORT_SERIES = "naive_short_series"  # too few points for any model: last value carried forward
FALLBACK_SEASONAL_NAIVE = "fallback_seasonal_naive"  # the model failed or was absurd; seasonal naive used
CONSTANT_SERIES = "constant_series"  # history never changes (includes all-zero): forecast is that value
NO_SEASONAL_TERM = "no_seasonal_term"  # the calendar has a cycle but the history is shorter than two of them
GAPS_FILLED = "gaps_filled"  # missing timestamps were filled before fitting (see settings["series"])
INTERMITTENT_SERIES = "intermittent_series"  # many zeros (mean interval between non-zeros > 1.32)
# on the chosen model's rows: in the backtest no model had a lower mean MASE than the seasonal
# naive, so the benchmark itself is the best model (fitting a model did not pay off here)
NO_MODEL_BEATS_SEASONAL_NAIVE = "no_model_beats_seasonal_naive"

SEPARATOR = ","


def join_flags(flags: Iterable[str]) -> str:
    """Unique flags in first-seen order, comma-joined; '' when there are none."""
    seen: list[str] = []
    for flag in flags:
        for part in str(flag).split(SEPARATOR):
            if part and part not in seen:
                seen.append(part)
    return SEPARATOR.join(seen)


def split_flags(flag: str) -> list[str]:
    return [part for part in str(flag).split(SEPARATOR) if part]
