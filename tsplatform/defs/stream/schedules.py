"""The forecast refresh: smoothing, forecasts, charts and stream retention, every 15 minutes by default."""

import os

import dagster as dg

from tsplatform.defs.stream.jobs import sensor_stream_refresh_job

REFRESH_SCHEDULE_NAME = "sensor_stream_refresh_schedule"
DEFAULT_REFRESH_CRON = "*/15 * * * *"
# read when the code location loads; restart Dagster after changing it
REFRESH_CRON = os.environ.get("TSPLATFORM_STREAM_REFRESH_CRON", "").strip() or DEFAULT_REFRESH_CRON

sensor_stream_refresh_schedule = dg.ScheduleDefinition(
    name=REFRESH_SCHEDULE_NAME,
    job=sensor_stream_refresh_job,
    cron_schedule=REFRESH_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Refresh sensor_smoothed, sensor_forecast and sensor_charts, prune old stream segments ({REFRESH_CRON}, UTC; "
    "TSPLATFORM_STREAM_REFRESH_CRON overrides).",
)
