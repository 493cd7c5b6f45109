"""The sensor-stream assets (group ``sensor_stream``).

Live path, one run per cursor range asked for by ``sensor_stream_sensor``:
``ingest_sensor_readings`` (sensor_readings + rejected_readings) → ``sensor_stats``,
``sensor_anomalies`` (check ``no_new_anomalies``).
Refresh path, ``sensor_stream_refresh_schedule`` (every 15 minutes):
``sensor_smoothed`` → ``sensor_forecast`` → ``sensor_charts``.

The science is in ``tsplatform.stream``; ``analysis`` and ``ingest`` move data between it and the
warehouse; the assets here log and describe what happened.
"""

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from tsplatform.defs.report_links import chart_links, report_link
from tsplatform.defs.resources import WAREHOUSE_IO_MANAGER_KEY, WAREHOUSE_WRITER_POOL, DataFolderResource, WarehouseResource
from tsplatform.defs.stream.checks import (
    NO_NEW_ANOMALIES,
    NO_NEW_ANOMALIES_DESCRIPTION,
    STREAM_LINES_ARE_READINGS,
    STREAM_LINES_ARE_READINGS_DESCRIPTION,
    alarms_markdown,
    anomalies_markdown,
    anomaly_check_result,
    range_accounting,
    readings_check_result,
)
from tsplatform.defs.table_metadata import OWNERS, table_asset_attributes, table_asset_spec
from tsplatform.stream import AlarmSettings, MissingSegmentError, analysis
from tsplatform.stream.address import open_source
from tsplatform.stream.range_ingest import ingest_range, reject_reasons, rejects_preview

GROUP = "sensor_stream"
INGEST_STEP = "ingest_sensor_readings"
SENSOR_READINGS = dg.AssetKey("sensor_readings")
REJECTED_READINGS = dg.AssetKey("rejected_readings")
SENSOR_STATS = dg.AssetKey("sensor_stats")
SENSOR_SMOOTHED = dg.AssetKey("sensor_smoothed")
SENSOR_ANOMALIES = dg.AssetKey("sensor_anomalies")
SENSOR_FORECAST = dg.AssetKey("sensor_forecast")
SENSOR_CHARTS = dg.AssetKey("sensor_charts")
MAX_SENSOR_METADATA = 20  # per-sensor metadata entries (plotted by Dagster over materialisations)

DOMAIN = "sensor_stream"
READING_COLUMN_DESCRIPTIONS = {
    "ts": "Reading time, UTC",
    "segment": "Stream segment file the line came from",
    "line_offset": "Byte offset of the line in its segment",
    "run_id": "Run that stored it",
    "stored_at": "UTC",
}


class StreamRangeConfig(dg.Config):
    start: str = Field(
        default="",
        description='Stream cursor the range starts at, e.g. {"segment":"segment-00000001.jsonl","offset":0}; '
        "empty = the beginning of the stream.",
    )
    end: str = Field(
        default="",
        description="Stream cursor the range ends at (exclusive); empty = everything readable now. "
        "Storage is idempotent: re-reading a range stores only what is missing.",
    )


class SensorStatsConfig(dg.Config):
    lookback: str = Field(default="1D", description="Rate, min/mean/max and gaps over this much of the newest data.")
    gap_factor: float = Field(default=3.0, description="A gap is an interval longer than this × the median interval.")


class SmoothingConfig(dg.Config):
    window: str = Field(default="30min", description="Centred moving-average window (a duration).")
    lookback: str = Field(default="1D", description="Smooth this much of the newest data.")


class AnomalyConfig(dg.Config):
    # Defaults measured on generator data (10 seeds x 3 sensors x 2 days at 1 min, spikes at 0.5 %):
    # 41 readings / 5.0 gave 0 false alarms in 86,400 readings and caught all 423 spikes; the
    # library's 21 intervals / 3.5 caught them too but raised 41 false alarms.
    threshold: float = Field(default=5.0, description="A reading is an anomaly when |robust z-score| exceeds this.")
    window: str = Field(
        default="41",
        description="Rolling window: a count of readings (41) or a duration (2h); empty = 21 sampling intervals.",
    )
    min_periods: int = Field(default=5, description="Readings a window needs before its reading is scored.")
    # Alarms (tsplatform.stream.alarms, measured on NAB: benchmarks/alarms.py): the check reports these.
    alarm_threshold: float = Field(default=8.0, description="Alarm bar in robust standard deviations (raised "
                                   "further for a sensor whose history has larger spikes).")
    alarm_cooldown: str = Field(default="1D", description="Anomalous readings closer than this are one alarm.")
    alarm_history: str = Field(default="7D", description="The past the alarm thresholds are taken from.")


class SensorForecastConfig(dg.Config):
    period: str = Field(
        default="auto",
        description="Cycle length (1D, 12h: used as given) or auto: default_period unless detection finds another "
        "cycle over at least 3 cycles of history that fits clearly better.",
    )
    default_period: str = Field(default="1D", description="The configured cycle that auto keeps without clear evidence.")
    harmonics: int = Field(default=3, description="Sine/cosine pairs of the period.")
    horizon: str = Field(default="6h", description="How far past each sensor's last reading to forecast.")
    lookback: str = Field(default="7D", description="Fit on this much of the newest data.")
    resample: str = Field(
        default="1min", description="Average onto this grid first when a sensor is sampled more finely; empty = never."
    )
    interval: float = Field(default=0.95, description="Coverage of the prediction interval.")


class ChartConfig(dg.Config):
    lookback: str = Field(default="1D", description="Draw this much of the newest data.")
    max_points: int = Field(default=20000, description="At most this many raw readings per chart (evenly thinned).")


def _stream_table_asset(key: dg.AssetKey, table: str, kinds: set[str], **attributes):
    """``@dg.asset`` of a stream table computed from sensor_readings: the shape every analysis asset
    shares (group, dependency, writer pool, warehouse IO manager, the table's column metadata)."""
    return dg.asset(
        key=key, group_name=GROUP, deps=[SENSOR_READINGS], pool=WAREHOUSE_WRITER_POOL,
        io_manager_key=WAREHOUSE_IO_MANAGER_KEY, **table_asset_attributes(table, DOMAIN, kinds), **attributes,
    )


def _span(text: str, what: str) -> pd.Timedelta:
    try:
        return analysis.time_span(text, what)
    except ValueError as problem:
        raise dg.Failure(description=str(problem), allow_retries=False) from problem


@dg.multi_asset(
    name=INGEST_STEP,
    specs=[
        table_asset_spec(
            SENSOR_READINGS, "sensor_readings", DOMAIN, kinds={"pandas"}, descriptions=READING_COLUMN_DESCRIPTIONS,
            group_name=GROUP,
            description="Every valid stream reading, once per (sensor_id, ts); stored by cursor range, idempotently.",
        ),
        table_asset_spec(
            REJECTED_READINGS, "rejected_readings", DOMAIN, group_name=GROUP,
            description="Stream lines that did not become readings: malformed or torn lines, and second readings "
            "for a (sensor_id, ts) already stored; with segment, byte offset, reason and the line.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            STREAM_LINES_ARE_READINGS, asset=SENSOR_READINGS, description=STREAM_LINES_ARE_READINGS_DESCRIPTION, blocking=True
        )
    ],
    pool=WAREHOUSE_WRITER_POOL,
)
def ingest_sensor_readings(
    context: dg.AssetExecutionContext,
    config: StreamRangeConfig,
    warehouse: WarehouseResource,
    data_folder: DataFolderResource,
):
    """Read one cursor range of the stream and store it in one transaction (readings, rejected lines,
    ledger row in sensor_stream_ranges)."""
    source = open_source(data_folder.paths().stream)  # TSPLATFORM_STREAM_URL: the folder or a NATS stream
    try:
        outcome = ingest_range(warehouse.open(), source, config.start, config.end, context.run_id)
    except (ValueError, MissingSegmentError) as problem:
        context.log.error(f"cannot read stream range {config.start or 'beginning'} .. {config.end or 'latest'}: {problem}")
        raise dg.Failure(description=f"cannot read the stream range: {problem}") from problem

    counts = outcome.counts
    context.log.info(
        f"range {outcome.key}: {counts.records} readings, {counts.inserted} stored, "
        f"{counts.already_stored} already stored, {counts.duplicates} duplicate keys, {counts.rejected} rejected lines"
    )
    if counts.rejected:
        context.log.warning(
            f"{counts.rejected} malformed stream line(s) kept out of sensor_readings and recorded in "
            f"rejected_readings: {reject_reasons(outcome.result.rejects)}"
        )
    if counts.duplicates:
        context.log.warning(f"{counts.duplicates} reading(s) repeat a stored (sensor_id, ts); recorded in rejected_readings")
    common: dict[str, Any] = {
        "range_start": outcome.start.to_string(),
        "range_end": outcome.end.to_string(),
        "range_key": outcome.key,
        "range_already_recorded": counts.range_was_recorded,
    }
    records = outcome.result.records
    yield dg.MaterializeResult(
        asset_key=SENSOR_READINGS,
        metadata={
            **common,
            **{name: dg.MetadataValue.int(value) for name, value in counts.as_metadata().items()},
            "dagster/row_count": outcome.readings_in_table,
            "first_ts": str(counts.min_ts) if counts.min_ts else "none",
            "last_ts": str(counts.max_ts) if counts.max_ts else "none",
            "sensors": dg.MetadataValue.json(sorted(records["sensor_id"].unique().tolist())[:MAX_SENSOR_METADATA]),
            "preview": dg.MetadataValue.md(records.head(10).to_markdown(index=False) if len(records) else "no readings"),
        },
    )
    yield dg.MaterializeResult(
        asset_key=REJECTED_READINGS,
        metadata={
            **common,
            "dagster/row_count": outcome.rejects_in_table,
            "num_rejected": counts.rejected,
            "num_duplicates": counts.duplicates,
            "reasons": dg.MetadataValue.json(reject_reasons(outcome.result.rejects)),
            "preview": dg.MetadataValue.md(rejects_preview(outcome)),
        },
    )
    yield readings_check_result(SENSOR_READINGS, outcome, range_accounting(warehouse.open(), outcome))


@_stream_table_asset(
    SENSOR_STATS, "sensor_stats", {"pandas"},
    description="Per sensor: total count, first/last seen, and over the newest data: count, rate, min/mean/max, "
    "median interval, gaps — the live metrics of the stream (also as metadata, plotted per materialisation).",
)
def sensor_stats(context: dg.AssetExecutionContext, config: SensorStatsConfig, warehouse: WarehouseResource):
    if config.gap_factor <= 1:
        raise dg.Failure(description="gap_factor must be greater than 1", allow_retries=False)
    table = analysis.refresh_stats(warehouse.open(), _span(config.lookback, "lookback"), config.gap_factor, context.run_id)
    context.log.info(f"stats of {len(table)} sensor(s) over the last {config.lookback} of data")
    metadata: dict[str, Any] = {
        "dagster/row_count": len(table),
        "lookback": config.lookback,
        "stats": dg.MetadataValue.md(_stats_markdown(table)),
    }
    for row in table.head(MAX_SENSOR_METADATA).itertuples(index=False):
        metadata[f"{row.sensor_id} total_count"] = dg.MetadataValue.int(int(row.total_count))
        metadata[f"{row.sensor_id} rate_per_second"] = dg.MetadataValue.float(_finite(row.rate_per_second))
        metadata[f"{row.sensor_id} mean"] = dg.MetadataValue.float(_finite(row.mean_value))
        metadata[f"{row.sensor_id} gaps"] = dg.MetadataValue.int(int(row.gaps))
        metadata[f"{row.sensor_id} last_seen"] = str(row.last_seen)
    return dg.MaterializeResult(metadata=metadata)


def _stats_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "no readings yet"
    shown = table[[
        "sensor_id", "total_count", "window_count", "last_seen", "rate_per_second", "min_value", "mean_value",
        "max_value", "median_interval_seconds", "gaps", "largest_gap_seconds",
    ]].head(50)
    return shown.to_markdown(index=False, floatfmt=".3g")


def _finite(value) -> float:
    return float(value) if pd.notna(value) else 0.0


@_stream_table_asset(
    SENSOR_ANOMALIES, "sensor_anomalies", {"pandas"},
    description="Spikes found by a robust rolling z-score (median/MAD) in newly stored readings; one row per "
    "anomaly with its score. The same scan raises alarm events (table sensor_alarms); the check "
    "no_new_anomalies fails when a scan raises new alarms.",
    check_specs=[dg.AssetCheckSpec(NO_NEW_ANOMALIES, asset=SENSOR_ANOMALIES, description=NO_NEW_ANOMALIES_DESCRIPTION)],
)
def sensor_anomalies(
    context: dg.AssetExecutionContext, config: AnomalyConfig, warehouse: WarehouseResource, data_folder: DataFolderResource
):
    if config.threshold <= 0 or config.min_periods < 1:
        raise dg.Failure(description="threshold must be positive and min_periods at least 1", allow_retries=False)
    try:
        alarm_settings = AlarmSettings(
            threshold=config.alarm_threshold, cooldown=config.alarm_cooldown, history=config.alarm_history
        )
        scan = analysis.scan_new_ranges(
            warehouse.open(), config.threshold, config.window, config.min_periods, context.run_id, alarm_settings
        )
    except ValueError as problem:
        raise dg.Failure(description=f"anomaly detection: {problem}", allow_retries=False) from problem
    for sensor, reason in scan.skipped.items():
        context.log.warning(f"{sensor}: not scored ({reason})")
    if len(scan.new):
        context.log.warning(f"{len(scan.new)} new anomalies:\n{anomalies_markdown(scan.new)}")
    else:
        context.log.info(f"no new anomalies in {scan.readings_scanned} readings of {scan.ranges_scanned} range(s)")
    reports = data_folder.paths().reports
    if len(scan.alarms):
        context.log.warning(f"{len(scan.alarms)} new alarm(s):\n{alarms_markdown(scan.alarms, reports)}")
    return dg.MaterializeResult(
        metadata={
            "num_new_anomalies": len(scan.new),
            "num_flagged_in_scan": scan.flagged,
            "ranges_scanned": scan.ranges_scanned,
            "readings_scanned": scan.readings_scanned,
            "scanned_from": str(scan.span[0]) if scan.span else "nothing new",
            "scanned_to": str(scan.span[1]) if scan.span else "nothing new",
            "threshold": float(config.threshold),
            "new_anomalies": dg.MetadataValue.md(anomalies_markdown(scan.new)),
            "num_new_alarms": len(scan.alarms),
            "num_continued_alarms": len(scan.continued),
            "new_alarms": dg.MetadataValue.md(alarms_markdown(scan.alarms, reports)),
        },
        check_results=[anomaly_check_result(SENSOR_ANOMALIES, scan, reports)],
    )


@_stream_table_asset(
    SENSOR_SMOOTHED, "sensor_smoothed", {"pandas"},
    description="Centred moving average of each sensor over the newest data (window configurable).",
)
def sensor_smoothed(context: dg.AssetExecutionContext, config: SmoothingConfig, warehouse: WarehouseResource):
    lookback = _span(config.lookback, "lookback")
    _span(config.window, "smoothing window")
    table = analysis.refresh_smoothed(warehouse.open(), config.window, lookback, context.run_id)
    sensors = table["sensor_id"].nunique() if len(table) else 0
    context.log.info(f"smoothed {len(table)} readings of {sensors} sensor(s) with a {config.window} window")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "window": config.window,
            "lookback": config.lookback,
            "preview": dg.MetadataValue.md(table.tail(10).to_markdown(index=False) if len(table) else "no readings yet"),
        }
    )


@_stream_table_asset(
    SENSOR_FORECAST, "sensor_forecast", {"statsmodels"},
    description="Fourier-feature regression forecast per sensor (trend + daily harmonics, OLS) with a prediction "
    "interval that includes the residual noise: where readings should fall.",
)
def sensor_forecast(context: dg.AssetExecutionContext, config: SensorForecastConfig, warehouse: WarehouseResource):
    if config.harmonics < 0 or not 0 < config.interval < 1:
        raise dg.Failure(description="harmonics must be >= 0 and interval within (0, 1)", allow_retries=False)
    try:
        refresh = analysis.refresh_forecasts(
            warehouse.open(),
            period=config.period,
            default_period=config.default_period,
            harmonics=config.harmonics,
            horizon=config.horizon,
            lookback=_span(config.lookback, "lookback"),
            resample=config.resample,
            interval=config.interval,
            run_id=context.run_id,
        )
    except ValueError as problem:
        raise dg.Failure(description=f"forecast configuration: {problem}", allow_retries=False) from problem
    for sensor, reason in refresh.problems.items():
        context.log.warning(f"{sensor}: no forecast ({reason})")
    for sensor, model in refresh.models.items():
        context.log.info(f"{sensor}: period {model['period']} ({model['period_reason']}), {model['harmonics']} harmonics, "
                         f"{model['points_fitted']} points fitted, {model['horizon_points']} forecast")
    table = refresh.table
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "horizon": config.horizon,
            "interval": float(config.interval),
            "models": dg.MetadataValue.json(refresh.models),
            "sensors_without_forecast": dg.MetadataValue.json(refresh.problems),
            "preview": dg.MetadataValue.md(
                table[["sensor_id", "ds", "yhat", "lower_bound", "upper_bound"]].head(10).to_markdown(index=False, floatfmt=".2f")
                if len(table) else "no forecast"
            ),
        }
    )


@dg.asset(
    key=SENSOR_CHARTS,
    description="One interactive plotly page per sensor under data/reports/sensor_stream/: raw readings, smoothed "
    "line, anomalies marked, forecast with its prediction band; plus index.html.",
    group_name=GROUP,
    deps=[SENSOR_READINGS, SENSOR_SMOOTHED, SENSOR_ANOMALIES, SENSOR_FORECAST],
    kinds={"plotly", "html"},
    owners=list(OWNERS),
    tags={"domain": DOMAIN},
    pool=WAREHOUSE_WRITER_POOL,
)
def sensor_charts(
    context: dg.AssetExecutionContext, config: ChartConfig, warehouse: WarehouseResource, data_folder: DataFolderResource
):
    if config.max_points < 2:
        raise dg.Failure(description="max_points must be at least 2", allow_retries=False)
    reports = data_folder.paths().reports
    charts = analysis.render_charts(warehouse.open(), reports, _span(config.lookback, "lookback"), config.max_points)
    context.log.info(f"wrote {len(charts.charts)} chart(s); index: {charts.index}")
    metadata: dict[str, Any] = {
        "index": dg.MetadataValue.path(str(charts.index)),
        "index_url": report_link(charts.index, reports),
        "num_charts": len(charts.charts),
    }
    for sensor, path in list(charts.charts.items())[:MAX_SENSOR_METADATA]:
        metadata[f"chart {sensor}"] = dg.MetadataValue.path(str(path))
    metadata.update(chart_links(charts.charts, reports))
    return dg.MaterializeResult(metadata=metadata)
