"""Rolling-origin evaluation: refit at several past origins and score the next ``horizon`` steps.

The test windows are consecutive, non-overlapping, each ``horizon`` steps of the regular
calendar long, and the last one ends at the end of the series:

    |------------- train 1 -------------|-- test 1 --|-- test 2 --|-- test 3 --|
    |------------------- train 2 --------------------|
    |-------------------------- train 3 -------------------------|

Each origin refits from the *observed* points up to the origin (gap filling is redone on
that slice, so nothing from the test window leaks in). Metrics use only observed test
points; ``n`` says how many there were.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import flags as F
from .calibration import POINT_COLUMNS
from .ensemble import ENSEMBLE
from .evidence import rescore_windows
from .forecaster import DEFAULT_MODELS, check_horizon, check_interval, forecast_prepared, normalize_models
from .metrics import interval_coverage, mase, mase_scale, smape
from .models import SEASONAL_NAIVE
from .preparation import PreparedSeries, prepare_series

BACKTEST_COLUMNS = ["model", "origin", "smape", "mase", "coverage", "n"]
SUMMARY_COLUMNS = ["model", "smape", "mase", "coverage", "origins", "n"]
MIN_TRAIN_POINTS = 2


@dataclass(frozen=True)
class BacktestWindow:
    """One origin: models see everything up to ``origin`` and are scored on the test window."""

    number: int  # 1 = oldest
    origin: pd.Timestamp  # last timestamp the models see
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    train_points: int  # calendar points up to and including the origin

    def describe(self) -> dict:
        return {
            "number": self.number,
            "origin": str(self.origin),
            "test_start": str(self.test_start),
            "test_end": str(self.test_end),
            "train_points": self.train_points,
        }


@dataclass
class WindowResult:
    """Scores of every model at one origin, plus what the fits reported."""

    window: BacktestWindow
    scores: pd.DataFrame
    warnings: dict[str, list[str]]
    flags: dict[str, str]
    # every scored point: model, step (1-based), y, yhat, lower, upper; what calibration learns from
    points: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POINT_COLUMNS))
    # the window's MASE denominator (its training data), so a combination can be scored later
    scale: float = float("nan")


def plan_windows(prepared: PreparedSeries, horizon: int, origins: int) -> list[BacktestWindow]:
    """Up to ``origins`` windows, oldest first; origins that would leave too little training
    data are dropped (a short series may get fewer windows than asked for)."""
    horizon = check_horizon(horizon)
    if origins < 1:
        raise ValueError("origins must be at least 1")
    index = prepared.values.index
    windows: list[BacktestWindow] = []
    for back in range(origins, 0, -1):
        test_start = prepared.n - back * horizon
        if test_start < MIN_TRAIN_POINTS or not prepared.observed[:test_start].any():
            continue
        windows.append(
            BacktestWindow(
                number=len(windows) + 1,
                origin=index[test_start - 1],
                test_start=index[test_start],
                test_end=index[test_start + horizon - 1],
                train_points=test_start,
            )
        )
    return windows


def evaluate_window(
    prepared: PreparedSeries,
    window: BacktestWindow,
    horizon: int,
    models: Sequence[str],
    interval: float,
    nonnegative: bool | None = None,
) -> WindowResult:
    """Fit on the observed points up to the origin and score every model and the ensemble."""
    observed = prepared.values[prepared.observed]
    train = prepare_series(
        observed[observed.index <= window.origin],
        freq=prepared.profile.offset,
        end=window.origin,
        nonnegative=nonnegative,
    )
    predicted = forecast_prepared(train, horizon, models, interval)
    test_slice = slice(window.train_points, window.train_points + horizon)
    actual = prepared.values.to_numpy()[test_slice]
    scored = prepared.observed[test_slice]
    training = train.array()

    rows = []
    points = []
    steps = np.arange(1, horizon + 1)[scored]
    model_flags: dict[str, str] = {}
    for model, block in predicted.groupby("model", sort=False):
        yhat, lower, upper = (block[c].to_numpy()[scored] for c in ("yhat", "lower", "upper"))
        points.append(pd.DataFrame({"model": model, "step": steps, "y": actual[scored], "yhat": yhat,
                                    "lower": lower, "upper": upper}))
        rows.append(
            {
                "model": model,
                "origin": window.origin,
                "smape": smape(actual[scored], yhat),
                "mase": mase(actual[scored], yhat, training, train.season_length),
                "coverage": interval_coverage(actual[scored], lower, upper),
                "n": int(scored.sum()),
            }
        )
        model_flags[model] = str(block["flag"].iloc[0])
    return WindowResult(window, pd.DataFrame(rows, columns=BACKTEST_COLUMNS), predicted.attrs["warnings"], model_flags,
                        pd.concat(points, ignore_index=True)[POINT_COLUMNS], mase_scale(training, train.season_length))


def backtest_window(
    series: pd.Series,
    horizon: int,
    number: int,
    models: Iterable[str] = DEFAULT_MODELS,
    interval: float = 0.95,
    origins: int = 3,
    *,
    nonnegative: bool | None = None,
    freq: str | None = None,
) -> WindowResult:
    """One window of ``backtest`` on its own (what a process-pool worker runs)."""
    prepared = prepare_series(series, freq=freq, nonnegative=nonnegative)
    window = next(w for w in plan_windows(prepared, horizon, origins) if w.number == number)
    return evaluate_window(prepared, window, horizon, normalize_models(models), check_interval(interval), nonnegative)


def backtest(
    series: pd.Series,
    horizon: int,
    models: Iterable[str] = DEFAULT_MODELS,
    interval: float = 0.95,
    origins: int = 3,
    *,
    nonnegative: bool | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """Rolling-origin scores: columns ``model, origin, smape, mase, coverage, n``, one row per
    model (ensemble included) per origin. ``origin`` is the last timestamp the models saw.

    ``attrs["windows"]`` lists each window (origin, test_start, test_end, train_points),
    ``attrs["warnings"]`` / ``attrs["flags"]`` what each fit reported, per origin.
    """
    names = normalize_models(models)
    interval = check_interval(interval)
    prepared = prepare_series(series, freq=freq, nonnegative=nonnegative)
    windows = plan_windows(prepared, horizon, origins)
    results = [evaluate_window(prepared, w, horizon, names, interval, nonnegative) for w in windows]
    _, results = rescore_windows(results, names)  # the ensemble rows score the ensemble forecast() returns
    return assemble_backtest(results, requested_origins=origins)


def assemble_backtest(results: Sequence[WindowResult], requested_origins: int) -> pd.DataFrame:
    """One backtest frame from per-window results (shared by ``backtest`` and the pool)."""
    results = sorted(results, key=lambda r: r.window.number)
    frames = [r.scores for r in results]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BACKTEST_COLUMNS)
    frame = frame[BACKTEST_COLUMNS]
    frame["n"] = frame["n"].astype(int)
    frame.attrs["windows"] = [r.window.describe() for r in results]
    frame.attrs["warnings"] = {str(r.window.origin): r.warnings for r in results}
    frame.attrs["flags"] = {str(r.window.origin): r.flags for r in results}
    frame.attrs["requested_origins"] = requested_origins
    if len(results) < requested_origins:
        frame.attrs["note"] = (
            f"only {len(results)} of {requested_origins} origins fit: the series is too short"
        )
    return frame


def summarize_backtest(backtest_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model: mean sMAPE, MASE and coverage over origins, origins counted, n summed."""
    if backtest_frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = backtest_frame.groupby("model", sort=False)
    summary = grouped[["smape", "mase", "coverage"]].mean()
    summary["origins"] = grouped["origin"].nunique()
    summary["n"] = grouped["n"].sum().astype(int)
    return summary.reset_index()[SUMMARY_COLUMNS]


def choose_best(summary: pd.DataFrame) -> str:
    """The model with the lowest mean MASE (ties: lower sMAPE, then listing order).

    The ensemble and the benchmarks are eligible. When no single model beats the seasonal
    naive (strictly lower mean MASE), the seasonal naive is chosen: a model that cannot beat
    repeating the last cycle is not worth its variance (``best_model_flags`` says so). The
    ensemble does not count there: its members were picked on these same windows, so its
    backtest score flatters it (with the seasonal naive among them it would always "win").
    With no usable scores the ensemble is returned: without evidence, the combination is
    the safest default.
    """
    usable = summary[np.isfinite(pd.to_numeric(summary.get("mase"), errors="coerce"))] if len(summary) else summary
    if usable.empty:
        return ENSEMBLE
    if seasonal_naive_unbeaten(usable):
        return SEASONAL_NAIVE
    ranked = usable.assign(_order=range(len(usable))).sort_values(["mase", "smape", "_order"], kind="stable")
    return str(ranked["model"].iloc[0])


def seasonal_naive_unbeaten(summary: pd.DataFrame) -> bool:
    """True when the seasonal naive was scored and no other single model (the ensemble is not
    one) has a lower mean MASE."""
    scores = pd.to_numeric(summary["mase"], errors="coerce")
    benchmark = scores[summary["model"] == SEASONAL_NAIVE]
    if benchmark.empty or not np.isfinite(benchmark.iloc[0]):
        return False
    others = scores[~summary["model"].isin((SEASONAL_NAIVE, ENSEMBLE)) & np.isfinite(scores)]
    return not bool((others < benchmark.iloc[0]).any())


def best_model_flags(best_model: str) -> list[str]:
    """Flags the choice itself earns: the seasonal naive is chosen only when nothing beat it."""
    return [F.NO_MODEL_BEATS_SEASONAL_NAIVE] if best_model == SEASONAL_NAIVE else []


def flag_best(forecast_frame: pd.DataFrame, best_model: str) -> pd.DataFrame:
    """The forecast frame with ``best_model_flags`` added to the chosen model's rows."""
    extra = best_model_flags(best_model)
    if not extra or forecast_frame.empty:
        return forecast_frame
    frame = forecast_frame.copy()
    chosen = frame["model"] == best_model
    frame.loc[chosen, "flag"] = [F.join_flags([flag, *extra]) for flag in frame.loc[chosen, "flag"]]
    frame.attrs = forecast_frame.attrs
    return frame
