"""SARIMAX chosen by AICc from a small grid, fast enough to run for every series and origin.

Speed comes from (1) fitting on the last year only (a few hundred points is plenty for a
handful of ARMA parameters), (2) choosing the differencing orders by tests rather than by
the grid (AIC is not comparable across differencing orders anyway), (3) fitting the grid
with ``simple_differencing=True`` (no diffuse states in the Kalman filter), a concentrated
variance, L-BFGS with a loose tolerance and an iteration cap, no parameter covariance, and
(4) single-threaded BLAS (see ``blas_threads``). The winner's parameters are then run once
through the undifferenced model (``filter``), which yields forecasts and intervals on the
original scale. Yearly seasonality, when present, is removed beforehand as a Fourier curve.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..preparation import PreparedSeries
from .base import ModelFitError, ModelForecast, small_sample_aicc_ok, yearly_parts

MAX_FIT_POINTS = 365
MAX_ITERATIONS = 50
# L-BFGS stopping rule: statsmodels' default (factr=100) polishes the log-likelihood to ~1e-14
# relative precision, spending most iterations on digits that cannot change an AICc ranking.
OPTIMIZER_OPTIONS = {"factr": 1e10, "pgtol": 1e-5}
# Hyndman & Khandakar's auto.arima threshold: seasonal strength above 0.64 -> seasonal difference.
SEASONAL_STRENGTH_FOR_DIFFERENCING = 0.64
KPSS_LEVEL = 0.05
LONG_SEASON = 12  # e.g. hourly data (24): one seasonal variant instead of two
NONSEASONAL_PQ = ((1, 0), (0, 1), (1, 1))
NONSEASONAL_PQ_WITHOUT_SEASON = ((0, 0), (1, 0), (0, 1), (1, 1), (2, 1))


@dataclass
class _Candidate:
    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    aicc: float = math.inf
    converged: bool = False
    params: np.ndarray | None = None
    error: str | None = None

    def describe(self) -> dict:
        return {
            "order": self.order,
            "seasonal_order": self.seasonal_order,
            "aicc": None if not math.isfinite(self.aicc) else round(float(self.aicc), 3),
            "converged": self.converged,
            **({"error": self.error} if self.error else {}),
        }


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    yearly_history, yearly_future = yearly_parts(prepared, horizon)
    adjusted = prepared.array() - yearly_history
    y = adjusted[-MAX_FIT_POINTS:]
    season = prepared.season_length if prepared.use_season else 0
    seasonal_diff, strength = choose_seasonal_differencing(y, season)
    diff, kpss_pvalue = choose_differencing(y, season, seasonal_diff)
    trend = "c" if diff + seasonal_diff <= 1 else "n"

    candidates = [
        _fit_candidate(SARIMAX, y, order, seasonal_order, trend)
        for order, seasonal_order in candidate_orders(diff, seasonal_diff, season, len(y), trend)
    ]
    usable = [c for c in candidates if c.converged and math.isfinite(c.aicc)]
    settings = {
        "criterion": "aicc",
        "trend": trend,
        "fit_points": len(y),
        "seasonal_strength": None if strength is None else round(strength, 3),
        "kpss_pvalue": None if kpss_pvalue is None else round(kpss_pvalue, 3),
        "yearly_fourier": prepared.yearly is not None,
        "candidates": [c.describe() for c in candidates],
    }
    if not usable:
        raise ModelFitError("no SARIMAX candidate converged")
    best = min(usable, key=lambda c: c.aicc)
    settings.update(order=best.order, seasonal_order=best.seasonal_order, aicc=round(float(best.aicc), 3))

    model = SARIMAX(y, order=best.order, seasonal_order=best.seasonal_order, trend=trend, concentrate_scale=True)
    prediction = model.filter(best.params).get_forecast(horizon)
    bounds = np.asarray(prediction.conf_int(alpha=1 - interval))
    return ModelForecast(
        mean=np.asarray(prediction.predicted_mean) + yearly_future,
        lower=bounds[:, 0] + yearly_future,
        upper=bounds[:, 1] + yearly_future,
        settings=settings,
        converged=True,
    )


def choose_seasonal_differencing(y: np.ndarray, season: int) -> tuple[int, float | None]:
    """D = 1 when STL says the season is strong and there are enough seasons to difference."""
    if not season or len(y) < 4 * season:
        return 0, None
    from statsmodels.tsa.seasonal import STL

    decomposition = STL(y, period=season).fit()
    remainder = decomposition.resid
    seasonal_plus_remainder = decomposition.seasonal + remainder
    denominator = np.var(seasonal_plus_remainder)
    strength = 0.0 if denominator == 0 else max(0.0, 1 - np.var(remainder) / denominator)
    return int(strength > SEASONAL_STRENGTH_FOR_DIFFERENCING), float(strength)


def choose_differencing(y: np.ndarray, season: int, seasonal_diff: int) -> tuple[int, float | None]:
    """d = 1 when the KPSS test rejects level-stationarity of the (seasonally differenced) series."""
    x = y[season:] - y[:-season] if seasonal_diff else y
    if len(x) < 12:
        return 1, None
    if np.ptp(x) == 0:
        return 0, None
    from statsmodels.tsa.stattools import kpss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # p-value table bounds (InterpolationWarning) are expected
        _, pvalue, *_ = kpss(x, regression="c", nlags="auto")
    return int(pvalue < KPSS_LEVEL), float(pvalue)


def candidate_orders(diff: int, seasonal_diff: int, season: int, n: int, trend: str):
    """The grid: a few (p, q) times a few seasonal (P, Q), skipping ones the data cannot carry."""
    pq_grid: tuple[tuple[int, int], ...]
    seasonal_grid: tuple[tuple[int, int], ...]
    if season:
        pq_grid = NONSEASONAL_PQ
        seasonal_grid = ((0, 1), (1, 0)) if seasonal_diff else ((1, 0), (0, 0))
        if season > LONG_SEASON:  # the state grows with the season: keep one seasonal form only
            seasonal_grid = seasonal_grid[:1]
    else:
        pq_grid = NONSEASONAL_PQ_WITHOUT_SEASON
        seasonal_grid = ((0, 0),)
    effective_n = n - diff - seasonal_diff * season
    for p, q in pq_grid:
        for sp, sq in seasonal_grid:
            n_params = p + q + sp + sq + (trend == "c") + 1  # + innovation variance
            if not small_sample_aicc_ok(effective_n, n_params):
                continue
            seasonal_order = (sp, seasonal_diff, sq, season) if season else (0, 0, 0, 0)
            yield (p, diff, q), seasonal_order


def _fit_candidate(sarimax_class, y, order, seasonal_order, trend) -> _Candidate:
    candidate = _Candidate(order, seasonal_order)
    try:
        model = sarimax_class(
            y,
            order=order,
            seasonal_order=seasonal_order,
            trend=trend,
            simple_differencing=True,
            concentrate_scale=True,  # sigma2 solved in closed form: one parameter less to search
        )
        result = model.fit(
            disp=False, method="lbfgs", maxiter=MAX_ITERATIONS, cov_type="none", **OPTIMIZER_OPTIONS
        )
    except (ValueError, np.linalg.LinAlgError, IndexError) as exc:
        candidate.error = f"{type(exc).__name__}: {exc}"
        return candidate
    candidate.aicc = float(result.aicc)
    candidate.converged = bool(result.mle_retvals.get("converged", False))
    candidate.params = np.asarray(result.params)
    return candidate
