"""What every model returns, and small helpers the models share."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from ..preparation import PreparedSeries


class ModelFitError(RuntimeError):
    """A model could not produce a usable fit (no candidate converged, too little data, ...)."""


@dataclass
class ModelForecast:
    """Point forecast and interval bounds for ``horizon`` future steps."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    flags: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    converged: bool | None = None  # None when the method has no convergence notion

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=float).ravel()
        self.lower = np.asarray(self.lower, dtype=float).ravel()
        self.upper = np.asarray(self.upper, dtype=float).ravel()


def normal_quantile(interval: float) -> float:
    """z such that N(0,1) puts ``interval`` of its mass in [-z, z] (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + interval / 2)


def yearly_parts(prepared: PreparedSeries, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The deterministic yearly curve over the history and over the horizon (zeros if none)."""
    if prepared.yearly is None:
        return np.zeros(prepared.n), np.zeros(horizon)
    curve = prepared.yearly.values(np.arange(prepared.n + horizon))
    return curve[: prepared.n], curve[prepared.n:]


def small_sample_aicc_ok(n_obs: int, n_params: int) -> bool:
    """AICc needs n - k - 1 > 0; demand a little slack so tiny samples do not pick wild models."""
    return n_obs - n_params - 1 >= 3
