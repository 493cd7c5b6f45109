"""The rows of the forecast index: one per category that has forecasts, backtested or not.

Built from the stored ``forecast_data`` and ``forecast_metrics`` frames, so a category whose
series was too short for a backtest (a forecast, flags, no metrics) still gets its row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .category_charts import page_filename
from .flags import join_flags

NO_BACKTEST_NOTE = "no backtest: series too short"


def index_entries(forecasts: pd.DataFrame, metrics: pd.DataFrame, folder: Path) -> list[dict]:
    """``render_index`` entries: category, page path, chosen model, its flags, its mean backtest
    metrics (or ``note`` when it has none), sorted by category."""
    categories = sorted(set(forecasts["category"]) | set(metrics["category"])) if len(forecasts) or len(metrics) else []
    entries = []
    for category in categories:
        rows = forecasts[forecasts["category"] == category]
        scored = metrics[metrics["category"] == category]
        model = _chosen_model(rows, scored)
        chosen_rows = rows[rows["model_type"] == model]
        entry = {
            "category": category,
            "path": Path(folder) / page_filename(category),
            "best_model": model,
            "flags": join_flags(chosen_rows["flag"].dropna()),
        }
        chosen_scores = scored[scored["model_type"] == model]
        if len(chosen_scores):
            entry.update({key: float(chosen_scores[key].mean()) for key in ("mase", "smape", "coverage")})
        else:
            entry["note"] = NO_BACKTEST_NOTE
        entries.append(entry)
    return entries


def _chosen_model(rows: pd.DataFrame, scored: pd.DataFrame) -> str:
    """The model marked best in forecast_data (else in forecast_metrics); '' when neither says."""
    for frame in (rows, scored):
        best = frame[frame["is_best"].fillna(False).astype(bool)]["model_type"]
        if len(best):
            return str(best.iloc[0])
    return ""
