"""The forecast refresh: smoothing, forecasts, charts and stream retention, every 15 minutes by default."""

import dagster as dg

from tsplatform.defs.automation import refresh_schedule_attributes
from tsplatform.defs.stream.jobs import sensor_stream_refresh_job

REFRESH_SCHEDULE_NAME = "sensor_stream_refresh_schedule"
REFRESH_CRON_VARIABLE = "TSPLATFORM_STREAM_REFRESH_CRON"
DEFAULT_REFRESH_CRON = "*/15 * * * *"

sensor_stream_refresh_schedule = dg.ScheduleDefinition(
    name=REFRESH_SCHEDULE_NAME,
    job=sensor_stream_refresh_job,
    **refresh_schedule_attributes(
        REFRESH_CRON_VARIABLE, DEFAULT_REFRESH_CRON,
        "Refresh sensor_smoothed, sensor_forecast and sensor_charts, prune old stream segments ({when}).",
    ),
)
