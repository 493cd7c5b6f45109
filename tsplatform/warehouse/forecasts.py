"""``daily_category_sales``, ``forecast_data`` and ``forecast_metrics``.

A category's forecasts and metrics are replaced whole on refresh (delete its rows, insert the new
ones, in the caller's transaction), so a re-run is idempotent and readers never see a mix.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tsplatform.warehouse.base import Conditions, Session, page_clause, replace_rows, utc_now

_DAILY_TYPES = {"category": "VARCHAR", "date": "DATE", "sales": "DOUBLE PRECISION", "num_invoice_rows": "INTEGER"}
_FORECAST_TYPES = {
    "forecast_date": "DATE", "category": "VARCHAR", "model_type": "VARCHAR", "forecast_value": "DOUBLE PRECISION",
    "lower_bound": "DOUBLE PRECISION", "upper_bound": "DOUBLE PRECISION", "is_best": "BOOLEAN",
    "interval_level": "DOUBLE PRECISION", "flag": "VARCHAR",
}
_METRIC_TYPES = {
    "category": "VARCHAR", "model_type": "VARCHAR", "origin": "DATE", "horizon": "INTEGER", "smape": "DOUBLE PRECISION",
    "mase": "DOUBLE PRECISION", "coverage": "DOUBLE PRECISION", "num_points": "INTEGER", "is_best": "BOOLEAN",
}


def invoice_totals_by_day(session: Session) -> pd.DataFrame:
    """category, date, sales, num_invoice_rows: the invoice table summed per category and day."""
    return session.fetch_df(
        "SELECT category, date, sum(sales) AS sales, count(*) AS num_invoice_rows "
        "FROM invoice_data GROUP BY category, date ORDER BY category, date"
    )


def replace_daily_category_sales(session: Session, daily: pd.DataFrame) -> None:
    replace_rows(session, "daily_category_sales", daily, _DAILY_TYPES)


def read_daily_category_sales(session: Session, categories: list[str] | None = None) -> pd.DataFrame:
    if categories is None:
        return session.fetch_df("SELECT * FROM daily_category_sales ORDER BY category, date")
    if not categories:
        return pd.DataFrame(columns=list(_DAILY_TYPES))
    marks = ", ".join("?" for _ in categories)
    return session.fetch_df(
        f"SELECT * FROM daily_category_sales WHERE category IN ({marks}) ORDER BY category, date", categories
    )


def replace_category_forecasts(
    session: Session, category: str, forecasts: pd.DataFrame, metrics: pd.DataFrame, run_id: str | None
) -> None:
    """Swap in one category's forecasts and backtest metrics."""
    stamps, this_category = {"created_at": utc_now(), "run_id": run_id}, Conditions().equal("category", category)
    replace_rows(session, "forecast_data", forecasts.assign(category=category), _FORECAST_TYPES, stamps=stamps, where=this_category)
    replace_rows(session, "forecast_metrics", metrics.assign(category=category), _METRIC_TYPES, stamps=stamps, where=this_category)


def read_forecasts(
    session: Session,
    category: str | None = None,
    model: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int | None = None,
    *,
    best: bool | None = None,
    offset: int | None = None,
) -> pd.DataFrame:
    """``best``: only the chosen model's rows (True), only the others' (False), all (None)."""
    where = (Conditions().equal("category", category).equal("model_type", model).equal("is_best", best)
             .between("forecast_date", start, end))
    sql = f"SELECT * FROM forecast_data{where.where} ORDER BY category, model_type, forecast_date" + page_clause(limit, offset)
    return session.fetch_df(sql, where.params)


def read_metrics(session: Session, category: str | None = None, model: str | None = None) -> pd.DataFrame:
    where = Conditions().equal("category", category).equal("model_type", model)
    return session.fetch_df(f"SELECT * FROM forecast_metrics{where.where} ORDER BY category, model_type, origin", where.params)


def forecast_rows(forecast: pd.DataFrame, best_model: str, interval: float) -> pd.DataFrame:
    """The library's forecast frame (model, ds, yhat, lower, upper, flag) as ``forecast_data`` rows."""
    return pd.DataFrame(
        {
            "forecast_date": pd.to_datetime(forecast["ds"]).dt.normalize(),
            "model_type": forecast["model"].astype(str),
            "forecast_value": forecast["yhat"].astype("float64"),
            "lower_bound": forecast["lower"].astype("float64"),
            "upper_bound": forecast["upper"].astype("float64"),
            "is_best": forecast["model"] == best_model,
            "interval_level": float(interval),
            "flag": forecast["flag"].fillna("").astype(str).replace("", None),
        }
    )


def metric_rows(backtest: pd.DataFrame, best_model: str, horizon: int) -> pd.DataFrame:
    """The library's backtest frame (model, origin, smape, mase, coverage, n) as ``forecast_metrics`` rows."""
    return pd.DataFrame(
        {
            "model_type": backtest["model"].astype(str),
            "origin": pd.to_datetime(backtest["origin"]).dt.normalize(),
            "horizon": int(horizon),
            "smape": backtest["smape"].astype("float64"),
            "mase": backtest["mase"].astype("float64"),
            "coverage": backtest["coverage"].astype("float64"),
            "num_points": backtest["n"].astype("int64"),
            "is_best": backtest["model"] == best_model,
        }
    )
