"""Jobs of the sensor-stream path.

Both run their steps in the run's own process: the steps take the warehouse_writer pool one at a
time anyway, and a subprocess per step (the default executor) costs a few seconds of imports each,
which is most of the live lag.
"""

import dagster as dg

from tsplatform.defs.dagster_tags import MAX_RETRIES_TAG
from tsplatform.defs.run_heartbeat import in_process_executor_with_heartbeat
from tsplatform.defs.stream.assets import (
    SENSOR_ANOMALIES,
    SENSOR_CHARTS,
    SENSOR_FORECAST,
    SENSOR_SMOOTHED,
    SENSOR_STATS,
    ingest_sensor_readings,
)
from tsplatform.defs.stream.housekeeping import STREAM_RETENTION

sensor_stream_ingest_job = dg.define_asset_job(
    "sensor_stream_ingest_job",
    selection=dg.AssetSelection.assets(ingest_sensor_readings) | dg.AssetSelection.assets(SENSOR_STATS, SENSOR_ANOMALIES),
    description="Store one cursor range of the stream (config: start/end cursors), then refresh the live stats "
    "and scan the new readings for anomalies.",
    executor_def=in_process_executor_with_heartbeat,  # so sensor_stream_sensor can tell a dead worker
    tags={MAX_RETRIES_TAG: "0"},  # a failed range is asked for again by sensor_stream_sensor, not run retries
)

sensor_stream_refresh_job = dg.define_asset_job(
    "sensor_stream_refresh_job",
    selection=dg.AssetSelection.assets(SENSOR_SMOOTHED, SENSOR_FORECAST, SENSOR_CHARTS, STREAM_RETENTION),
    description="Recompute the smoothed series and the Fourier forecasts from the stored readings, redraw the charts, "
    "and remove old fully stored stream segments (stream_retention).",
    executor_def=dg.in_process_executor,
)
