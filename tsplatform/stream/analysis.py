"""What the analysis assets do, without Dagster: read the stored readings, call the stream
library (``tsplatform.stream``), write the result tables. Each function is one transaction.

Windows are measured back from the newest stored reading (data time, not wall-clock time), so a
backfill of last year's history is analysed just like a live stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import tsplatform.stream as stream_lib
from tsplatform.stream.series import utc_timestamp
from tsplatform.warehouse import Warehouse, stream_tables

DEFAULT_ANOMALY_WINDOW_READINGS = 21  # the library's default window, in sampling intervals
STATS_COLUMNS = [
    "sensor_id", "total_count", "window_count", "window_start", "first_seen", "last_seen", "rate_per_second",
    "min_value", "mean_value", "max_value", "median_interval_seconds", "gaps", "largest_gap_seconds",
]
CHART_FOLDER = "sensor_stream"  # under data/reports
ALARM_HISTORY_EVERY = pd.Timedelta("1min")  # the alarm scan's past, thinned (a 2 readings/s stream: 1 in 120)
_TABLE_NAMES_OF = {"start": "start_ts", "end": "end_ts"}  # alarm fields: library name -> sensor_alarms column
_LIBRARY_NAMES_OF = {table: library for library, table in _TABLE_NAMES_OF.items()}


def time_span(text: str, what: str) -> pd.Timedelta:
    """A positive duration from config text ("30min", "1D"); ValueError naming the setting."""
    try:
        span = pd.Timedelta(str(text).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what} {text!r} is not a duration (try 30min, 6h, 1D)") from None
    if pd.isna(span) or span <= pd.Timedelta(0):
        raise ValueError(f"{what} must be a positive duration, got {text!r}")
    return span


def anomaly_window(text: str) -> str | int | None:
    """Config text for the detection window: "" = the library default (21 sampling intervals),
    digits = a count of readings, else a duration."""
    text = str(text).strip()
    if not text:
        return None
    if text.isdigit():
        if int(text) < 1:
            raise ValueError("the anomaly window must hold at least one reading")
        return int(text)
    time_span(text, "anomaly window")
    return text


def _seconds(span) -> float:
    return float("nan") if pd.isna(span) else pd.Timedelta(span).total_seconds()


# --- stats -------------------------------------------------------------------------------------


def refresh_stats(warehouse: Warehouse, lookback: pd.Timedelta, gap_factor: float, run_id: str | None) -> pd.DataFrame:
    """Per sensor: totals over everything stored, and count, rate, min/mean/max, sampling interval
    and gaps over the last ``lookback`` of data. Replaces ``sensor_stats``; returns its rows."""
    with warehouse.transaction() as session:
        latest = stream_tables.latest_reading_time(session)
        if latest is None:
            stream_tables.replace_stats(session, pd.DataFrame(columns=STATS_COLUMNS), run_id)
            return pd.DataFrame(columns=STATS_COLUMNS)
        window_start = pd.Timestamp(latest) - lookback
        records = stream_tables.read_readings(session, start=window_start)
        totals = stream_tables.reading_totals(session).set_index("sensor_id")
        recent = stream_lib.sensor_stats(records, gap_factor=gap_factor) if len(records) else None
        rows = []
        for sensor, total in totals.iterrows():
            row = {
                "sensor_id": sensor,
                "total_count": int(total["total_count"]),
                "window_count": 0,
                "window_start": window_start,
                "first_seen": total["first_ts"],
                "last_seen": total["last_ts"],
                "rate_per_second": np.nan, "min_value": np.nan, "mean_value": np.nan, "max_value": np.nan,
                "median_interval_seconds": np.nan, "gaps": 0, "largest_gap_seconds": np.nan,
            }
            if recent is not None and sensor in recent.index:
                one = recent.loc[sensor]
                row.update(
                    window_count=int(one["count"]),
                    rate_per_second=float(one["rate_per_second"]),
                    min_value=float(one["min"]),
                    mean_value=float(one["mean"]),
                    max_value=float(one["max"]),
                    median_interval_seconds=_seconds(one["median_interval"]),
                    gaps=int(one["gaps"]),
                    largest_gap_seconds=_seconds(one["largest_gap"]),
                )
            rows.append(row)
        table = pd.DataFrame(rows, columns=STATS_COLUMNS)
        stream_tables.replace_stats(session, table, run_id)
    return table


# --- smoothing ---------------------------------------------------------------------------------


def refresh_smoothed(warehouse: Warehouse, window: str, lookback: pd.Timedelta, run_id: str | None) -> pd.DataFrame:
    """The moving average of each sensor over the last ``lookback`` of data; replaces ``sensor_smoothed``."""
    time_span(window, "smoothing window")
    with warehouse.transaction() as session:
        latest = stream_tables.latest_reading_time(session)
        records = (
            stream_tables.read_readings(session, start=pd.Timestamp(latest) - lookback)
            if latest is not None else pd.DataFrame(columns=["sensor_id", "ts", "value"])
        )
        parts = []
        for sensor in sorted(records["sensor_id"].unique()):
            series = stream_lib.sensor_series(records, sensor)
            smoothed = stream_lib.smooth(series, window)
            parts.append(pd.DataFrame({
                "sensor_id": sensor, "ts": series.index, "value": series.to_numpy(),
                "smoothed": smoothed.to_numpy(), "smoothing_window": window,
            }))
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["sensor_id", "ts", "value", "smoothed", "smoothing_window"]
        )
        stream_tables.replace_smoothed(session, table, run_id)
    return table


# --- anomalies ---------------------------------------------------------------------------------


@dataclass
class AnomalyScan:
    new: pd.DataFrame  # anomalies recorded by this scan (sensor_id, ts, value, score, ...)
    flagged: int  # anomalies found in the scanned span (new or already recorded)
    ranges_scanned: int
    readings_scanned: int
    span: tuple[pd.Timestamp, pd.Timestamp] | None
    skipped: dict[str, str] = field(default_factory=dict)  # sensor -> why it was not scored
    alarms: pd.DataFrame = field(default_factory=lambda: _no_alarms())  # alarms raised by this scan
    continued: pd.DataFrame = field(default_factory=lambda: _no_alarms())  # earlier alarms it extended


def scan_new_ranges(
    warehouse: Warehouse, threshold: float, window: str, min_periods: int, run_id: str | None,
    alarm_settings: stream_lib.AlarmSettings | None = None,
) -> AnomalyScan:
    """Score the readings of every stored range not scanned yet (with enough readings around them
    for the rolling window), record the anomalies not seen before, raise or continue alarms
    (``tsplatform.stream.alarms``), mark the ranges scanned — all in one transaction, so a failed
    scan leaves its ranges to the next one."""
    detection_window = anomaly_window(window)
    alarm_settings = alarm_settings or stream_lib.AlarmSettings()
    with warehouse.transaction() as session:
        ranges = stream_tables.unscanned_ranges(session)
        stamps = pd.concat([ranges["min_ts"], ranges["max_ts"]]).dropna()
        if stamps.empty:
            stream_tables.mark_scanned(session, ranges[["range_start", "range_end"]])
            return AnomalyScan(_no_anomalies(), 0, len(ranges), 0, None)
        low, high = pd.Timestamp(stamps.min()), pd.Timestamp(stamps.max())
        core = stream_tables.read_readings(session, low, high)
        margin = _context_margin(core, detection_window)
        padded = stream_tables.read_readings(session, low - margin, high + margin)
        flagged, skipped = [], {}
        for sensor in sorted(core["sensor_id"].unique()):
            series = stream_lib.sensor_series(padded, sensor)
            try:
                scored = stream_lib.detect_anomalies(series, detection_window, threshold, min_periods=min_periods)
            except ValueError as problem:
                skipped[sensor] = str(problem)
                continue
            inside = scored[scored["is_anomaly"] & (scored.index >= utc_timestamp(low)) & (scored.index <= utc_timestamp(high))]
            flagged.append(pd.DataFrame({
                "sensor_id": sensor, "ts": inside.index, "value": inside["value"].to_numpy(),
                "score": inside["score"].to_numpy(), "threshold": float(threshold),
                "detection_window": _window_label(detection_window),
            }))
        found = pd.concat(flagged, ignore_index=True) if flagged else _no_anomalies()
        new = stream_tables.insert_new_anomalies(session, found, run_id)
        alarms = _scan_alarms(session, core, utc_timestamp(low), utc_timestamp(high), alarm_settings, run_id)
        stream_tables.mark_scanned(session, ranges[["range_start", "range_end"]])
    raised, continued = alarms[~alarms["continued"]], alarms[alarms["continued"]]
    return AnomalyScan(new, len(found), len(ranges), len(core), (utc_timestamp(low), utc_timestamp(high)), skipped, raised, continued)


def _scan_alarms(session, core: pd.DataFrame, low: pd.Timestamp, high: pd.Timestamp, settings, run_id) -> pd.DataFrame:
    """Score the readings of ``low..high`` against their own past and record the alarms they raise
    or continue (each sensor's latest stored alarm is the one a reading may continue). The past
    before ``low`` is read thinned to one reading per ``ALARM_HISTORY_EVERY``: a uniform subsample
    has the errors' distribution, and a fast stream's week stays a few thousand rows per scan."""
    start = low - settings.lookback()
    history = stream_tables.read_readings_thinned(session, start, low, ALARM_HISTORY_EVERY)
    latest = stream_tables.latest_alarms(session).set_index("sensor_id")
    found = []
    for sensor in sorted(core["sensor_id"].unique()):
        series = pd.concat([stream_lib.sensor_series(history, sensor), stream_lib.sensor_series(core, sensor)])
        scored = stream_lib.score_readings(series, settings)
        inside = scored[(scored.index >= low) & (scored.index <= high)]
        previous = latest.loc[sensor].rename(_LIBRARY_NAMES_OF) if sensor in latest.index else None
        alarms = stream_lib.group_alarms(inside, settings.cooldown, previous)
        if len(alarms):
            found.append(alarms.rename(columns=_TABLE_NAMES_OF).assign(sensor_id=sensor))
    if not found:
        return _no_alarms()
    alarms = pd.concat(found, ignore_index=True)
    alarms["cooldown_seconds"] = pd.Timedelta(settings.cooldown).total_seconds()
    alarms["continued"] = alarms["continued"].astype(bool)
    stream_tables.record_alarms(session, alarms, run_id)
    return alarms


def _window_label(window) -> str:
    if window is None:
        return f"{DEFAULT_ANOMALY_WINDOW_READINGS} sampling intervals"
    return f"{window} readings" if isinstance(window, int) else str(window)


def _context_margin(core: pd.DataFrame, window) -> pd.Timedelta:
    """How far around the new readings to read: twice the widest rolling window (the window is
    centred, and its median and MAD each reach half a window out)."""
    if isinstance(window, str):
        return 2 * pd.Timedelta(window)
    readings = window if isinstance(window, int) else DEFAULT_ANOMALY_WINDOW_READINGS
    widest = pd.Timedelta(0)
    for _, group in core.groupby("sensor_id"):
        try:
            widest = max(widest, stream_lib.sampling_interval(pd.DatetimeIndex(group["ts"])) * readings)
        except ValueError:  # a single reading: it has no interval
            continue
    return 2 * widest if widest > pd.Timedelta(0) else pd.Timedelta("1D")


def _no_anomalies() -> pd.DataFrame:
    return pd.DataFrame(columns=["sensor_id", "ts", "value", "score", "threshold", "detection_window"])


def _no_alarms() -> pd.DataFrame:
    fields = [_TABLE_NAMES_OF.get(name, name) for name in stream_lib.ALARM_COLUMNS]
    columns = ["sensor_id", *fields, "cooldown_seconds", "continued"]
    return pd.DataFrame(columns=columns).astype({"continued": bool})




# --- forecast ----------------------------------------------------------------------------------


@dataclass
class ForecastRefresh:
    table: pd.DataFrame
    models: dict[str, dict]  # sensor -> period, period_source, harmonics, sampling interval, points
    problems: dict[str, str]  # sensor -> why it has no forecast


def refresh_forecasts(
    warehouse: Warehouse,
    *,
    period: str,
    default_period: str = "1D",
    harmonics: int,
    horizon: str,
    lookback: pd.Timedelta,
    resample: str,
    interval: float,
    run_id: str | None,
) -> ForecastRefresh:
    """Fit ``fourier_forecast`` per sensor on the last ``lookback`` of data (averaged onto a
    ``resample`` grid when the sensor is sampled more finely) and replace ``sensor_forecast``."""
    chosen_period = None if str(period).strip().lower() in ("", "auto") else str(time_span(period, "period"))
    default = time_span(default_period, "default_period")
    time_span(horizon, "horizon")
    every = time_span(resample, "resample") if str(resample).strip() else None
    with warehouse.transaction() as session:
        latest = stream_tables.latest_reading_time(session)
        records = (
            stream_tables.read_readings(session, start=pd.Timestamp(latest) - lookback)
            if latest is not None else pd.DataFrame(columns=["sensor_id", "ts", "value"])
        )
        parts, models, problems = [], {}, {}
        for sensor in sorted(records["sensor_id"].unique()):
            series = stream_lib.downsample(stream_lib.sensor_series(records, sensor), every)
            try:
                forecast = stream_lib.fourier_forecast(
                    series, horizon, period=chosen_period, harmonics=harmonics, interval=interval,
                    default_period=default,
                )
            except ValueError as problem:
                problems[sensor] = str(problem)
                continue
            attrs = forecast.attrs
            models[sensor] = {
                "period": str(attrs["period"]), "period_source": attrs["period_source"],
                "period_reason": attrs["period_reason"], "harmonics": int(attrs["harmonics"]),
                "sampling_interval": str(attrs["sampling_interval"]),
                "points_fitted": int(len(series)), "horizon_points": int(len(forecast)),
            }
            parts.append(pd.DataFrame({
                "sensor_id": sensor, "ds": forecast["ds"], "yhat": forecast["yhat"],
                "lower_bound": forecast["lower"], "upper_bound": forecast["upper"],
                "interval_level": float(attrs["interval"]), "period_seconds": _seconds(attrs["period"]),
                "period_source": attrs["period_source"], "period_reason": attrs["period_reason"],
                "harmonics": int(attrs["harmonics"]),
                "sampling_seconds": _seconds(attrs["sampling_interval"]),
            }))
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[
            "sensor_id", "ds", "yhat", "lower_bound", "upper_bound", "interval_level", "period_seconds",
            "period_source", "period_reason", "harmonics", "sampling_seconds",
        ])
        stream_tables.replace_forecast(session, table, run_id)
    return ForecastRefresh(table, models, problems)


# --- charts ------------------------------------------------------------------------------------


@dataclass
class ChartSet:
    folder: Path
    index: Path
    charts: dict[str, Path]


def render_charts(warehouse: Warehouse, reports: Path, lookback: pd.Timedelta, max_points: int) -> ChartSet:
    """One page per sensor with readings in the last ``lookback``: raw readings, the stored
    smoothed line, recorded anomalies and the stored forecast with its band; plus an index page."""
    folder = reports / CHART_FOLDER
    with warehouse.transaction() as session:
        latest = stream_tables.latest_reading_time(session)
        if latest is None:
            records = pd.DataFrame(columns=["sensor_id", "ts", "value"])
            smoothed = anomalies = forecasts = None
        else:
            start = pd.Timestamp(latest) - lookback
            records = stream_tables.read_readings(session, start=start)
            smoothed = stream_tables.read_smoothed(session, start=start)
            anomalies = stream_tables.read_anomalies(session, start=start)
            forecasts = stream_tables.read_forecast(session)
    charts: dict[str, Path] = {}
    for sensor in sorted(records["sensor_id"].unique()):
        series = stream_lib.sensor_series(records, sensor)
        charts[sensor] = stream_lib.render_sensor_chart(
            sensor,
            series,
            _smoothed_series(smoothed, sensor),
            _anomaly_frame(anomalies, sensor),
            _forecast_frame(forecasts, sensor),
            folder / stream_lib.chart_file_name(sensor),
            max_points=max_points,
        )
    index = stream_lib.render_chart_index(charts, folder / "index.html", title="Sensor stream charts")
    return ChartSet(folder, index, charts)


def _smoothed_series(smoothed: pd.DataFrame | None, sensor: str) -> pd.Series | None:
    if smoothed is None:
        return None
    rows = smoothed[smoothed["sensor_id"] == sensor]
    return pd.Series(rows["smoothed"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["ts"]), name=sensor)


def _anomaly_frame(anomalies: pd.DataFrame | None, sensor: str) -> pd.DataFrame | None:
    if anomalies is None:
        return None
    rows = anomalies[anomalies["sensor_id"] == sensor]
    return pd.DataFrame(
        {"value": rows["value"].to_numpy(dtype=float), "score": rows["score"].to_numpy(dtype=float), "is_anomaly": True},
        index=pd.DatetimeIndex(rows["ts"]),
    )


def _forecast_frame(forecasts: pd.DataFrame | None, sensor: str) -> pd.DataFrame | None:
    if forecasts is None:
        return None
    rows = forecasts[forecasts["sensor_id"] == sensor]
    frame = pd.DataFrame({
        "ds": pd.DatetimeIndex(rows["ds"]), "yhat": rows["yhat"].to_numpy(dtype=float),
        "lower": rows["lower_bound"].to_numpy(dtype=float), "upper": rows["upper_bound"].to_numpy(dtype=float),
    })
    if len(rows):
        frame.attrs.update(
            interval=float(rows["interval_level"].iloc[0]), period=pd.Timedelta(seconds=float(rows["period_seconds"].iloc[0])),
            period_reason=rows["period_reason"].iloc[0] if "period_reason" in rows else None,
        )
    return frame
