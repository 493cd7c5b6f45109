"""``daily_category_sales``, ``forecast_data`` and ``forecast_metrics``.

A category's forecasts and metrics are replaced whole on refresh (delete its rows, insert the new
ones, in the caller's transaction), so a re-run is idempotent and readers never see a mix.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tsplatform.warehouse.base import Session, page_clause, utc_now

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
    session.execute("DELETE FROM daily_category_sales")
    if daily.empty:
        return
    session.load_frame("staged_daily", daily, _DAILY_TYPES)
    session.execute(
        "INSERT INTO daily_category_sales (category, date, sales, num_invoice_rows) "
        "SELECT category, date, sales, num_invoice_rows FROM staged_daily"
    )


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
    now = utc_now()
    session.execute("DELETE FROM forecast_data WHERE category = ?", (category,))
    session.execute("DELETE FROM forecast_metrics WHERE category = ?", (category,))
    if not forecasts.empty:
        session.load_frame("staged_forecasts", forecasts.assign(category=category), _FORECAST_TYPES)
        session.execute(
            f"INSERT INTO forecast_data ({', '.join(_FORECAST_TYPES)}, created_at, run_id) "
            f"SELECT {', '.join(_FORECAST_TYPES)}, ?, ? FROM staged_forecasts",
            (now, run_id),
        )
    if not metrics.empty:
        session.load_frame("staged_metrics", metrics.assign(category=category), _METRIC_TYPES)
        session.execute(
            f"INSERT INTO forecast_metrics ({', '.join(_METRIC_TYPES)}, created_at, run_id) "
            f"SELECT {', '.join(_METRIC_TYPES)}, ?, ? FROM staged_metrics",
            (now, run_id),
        )


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
    clauses, params = [], []
    for column, value in (("category", category), ("model_type", model), ("is_best", best)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if start is not None:
        clauses.append("forecast_date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("forecast_date <= ?")
        params.append(end)
    sql = "SELECT * FROM forecast_data" + (" WHERE " + " AND ".join(clauses) if clauses else "")
    sql += " ORDER BY category, model_type, forecast_date" + page_clause(limit, offset)
    return session.fetch_df(sql, params)


def read_metrics(session: Session, category: str | None = None, model: str | None = None) -> pd.DataFrame:
    clauses, params = [], []
    for column, value in (("category", category), ("model_type", model)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return session.fetch_df(f"SELECT * FROM forecast_metrics{where} ORDER BY category, model_type, origin", params)


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
