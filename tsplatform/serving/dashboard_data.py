"""What the dashboard shows, from the stored tables: each category's chosen model, how it scored in
the backtest and its next-30-day total; each sensor's newest readings and recent anomalies.

Plain pandas on the frames the warehouse returns, read in one transaction (``gather``), so the
page never mixes two refreshes of a category; rendering is ``dashboard_routes``' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsplatform import read, settings
from tsplatform.forecasting.category_charts import page_filename
from tsplatform.stream.sensor_charts import chart_file_name
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import stream_tables

TOTAL_DAYS = 30
LATEST_READINGS = 5  # per sensor
RECENT_ANOMALIES = pd.Timedelta("24h")  # before the sensor's newest reading
ANOMALIES_SHOWN = 5  # per sensor, newest first
MAX_SENSORS = 200
FORECAST_FOLDER, SENSOR_FOLDER = "forecasts", "sensor_stream"


@dataclass
class Tables:
    best: pd.DataFrame  # forecast_data rows of each category's chosen model
    metrics: pd.DataFrame
    stats: pd.DataFrame
    latest: dict[str, pd.DataFrame] = field(default_factory=dict)
    anomalies: pd.DataFrame | None = None


def gather() -> Tables:
    """Every table the page needs, in one read transaction (``tsplatform.read.run``)."""

    def snapshot(session) -> Tables:
        stats = stream_tables.read_stats(session).head(MAX_SENSORS)
        latest = {str(s): stream_tables.read_stored_readings(session, str(s), None, LATEST_READINGS) for s in stats["sensor_id"]}
        since = stats["last_seen"].min() - RECENT_ANOMALIES if len(stats) and stats["last_seen"].notna().any() else None
        return Tables(
            best=forecast_table.read_forecasts(session, best=True),
            metrics=forecast_table.read_metrics(session),
            stats=stats,
            latest=latest,
            anomalies=stream_tables.read_anomalies(session, None, since) if since is not None else None,
        )

    return read.run(snapshot)


def category_rows(best: pd.DataFrame, metrics: pd.DataFrame, reports: Path, days: int = TOTAL_DAYS) -> list[dict]:
    """One row per category: chosen model, total of its first ``days`` forecast days, its mean
    backtest MASE / sMAPE / coverage against the nominal level, flags, the chart if written."""
    rows = []
    for category, block in best.sort_values(["category", "forecast_date"]).groupby("category", sort=True):
        model = str(block["model_type"].iloc[0])
        block = block[block["model_type"] == model]  # one chosen model a category; the first if ever more
        ahead = block.head(days)
        scored = metrics[(metrics["category"] == category) & (metrics["model_type"] == model)]
        flags = sorted({str(f) for f in block["flag"].dropna() if str(f)})
        rows.append({
            "category": str(category),
            "model": model,
            "days": len(ahead),
            "first_day": _day(ahead["forecast_date"].iloc[0]),
            "total": float(ahead["forecast_value"].sum()),
            "mase": _mean(scored, "mase"),
            "smape": _mean(scored, "smape"),
            "coverage": _mean(scored, "coverage"),
            "level": _first(block, "interval_level"),
            "flags": ", ".join(flags),
            "chart": _chart(reports, FORECAST_FOLDER, page_filename(category)),
        })
    return rows


def sensor_rows(tables: Tables, reports: Path) -> list[dict]:
    """One row per sensor: newest readings (newest first), counts, recent anomalies, the chart."""
    anomalies = tables.anomalies if tables.anomalies is not None else pd.DataFrame(columns=["sensor_id", "ts"])
    rows = []
    for record in tables.stats.to_dict("records"):
        sensor = str(record["sensor_id"])
        latest = tables.latest.get(sensor, pd.DataFrame(columns=["ts", "value"])).sort_values("ts", ascending=False)
        last_seen = record.get("last_seen")
        recent = anomalies[anomalies["sensor_id"] == sensor]
        if pd.notna(last_seen):
            recent = recent[recent["ts"] >= last_seen - RECENT_ANOMALIES]
        recent = recent.sort_values("ts", ascending=False)
        rows.append({
            "sensor_id": sensor,
            "last_seen": _moment(last_seen),
            "total_count": int(record.get("total_count") or 0),
            "rate": record.get("rate_per_second"),
            "mean": record.get("mean_value"),
            "latest": [(_moment(r.ts), float(r.value)) for r in latest.itertuples()],
            "anomaly_count": len(recent),
            "anomalies": [(_moment(r.ts), float(r.value), float(r.score)) for r in recent.head(ANOMALIES_SHOWN).itertuples()],
            "chart": _chart(reports, SENSOR_FOLDER, chart_file_name(sensor)),
        })
    return rows


def index_pages(reports: Path) -> dict[str, str | None]:
    return {"forecasts": _chart(reports, FORECAST_FOLDER, "index.html"), "sensors": _chart(reports, SENSOR_FOLDER, "index.html")}


def _chart(reports: Path, folder: str, name: str) -> str | None:
    """The page's address relative to the dashboard, when the page has been written."""
    return f"{settings.CHARTS_PATH.lstrip('/')}/{folder}/{name}" if (reports / folder / name).is_file() else None


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    values = pd.to_numeric(frame[column], errors="coerce").dropna() if len(frame) else pd.Series(dtype=float)
    return float(values.mean()) if len(values) else None


def _first(frame: pd.DataFrame, column: str) -> float | None:
    values = frame[column].dropna()
    return float(values.iloc[0]) if len(values) else None


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _moment(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S UTC")
