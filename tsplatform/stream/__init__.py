"""The sensor stream, without Dagster: generate readings, write and read JSON Lines segments by
cursor, and analyse them (anomalies, alarms, smoothing, Fourier forecast, stats, charts).

statsmodels and plotly are imported inside the functions that need them, so importing this
package stays cheap for Dagster sensors that only read cursors.
"""

from tsplatform.stream.alarms import ALARM_COLUMNS, AlarmSettings, detect_alarms, group_alarms, score_readings
from tsplatform.stream.anomalies import detect_anomalies
from tsplatform.stream.control import Command, CommandInbox, send_command
from tsplatform.stream.cursor import Cursor, SequenceCursor
from tsplatform.stream.fourier import fourier_forecast
from tsplatform.stream.generator import ReadingGenerator, SensorProfile, default_profiles
from tsplatform.stream.generator_loops import RunSummary, run_backfill, run_live
from tsplatform.stream.interrupt import StopSignal
from tsplatform.stream.lock import WriterBusyError, active_writer
from tsplatform.stream.periods import detect_period
from tsplatform.stream.segments import SegmentWriter, list_segments
from tsplatform.stream.sensor_charts import chart_file_name, render_chart_index, render_sensor_chart
from tsplatform.stream.series import collapse_duplicates, downsample, sampling_interval, sensor_series
from tsplatform.stream.smoothing import smooth
from tsplatform.stream.source import JsonlSegmentSource, MissingSegmentError, ReadingSource, ReadResult
from tsplatform.stream.stats import sensor_stats

__all__ = [
    "ALARM_COLUMNS",
    "AlarmSettings",
    "Command",
    "CommandInbox",
    "Cursor",
    "JsonlSegmentSource",
    "MissingSegmentError",
    "ReadResult",
    "ReadingGenerator",
    "ReadingSource",
    "RunSummary",
    "SegmentWriter",
    "SequenceCursor",
    "SensorProfile",
    "StopSignal",
    "WriterBusyError",
    "active_writer",
    "chart_file_name",
    "collapse_duplicates",
    "default_profiles",
    "detect_alarms",
    "detect_anomalies",
    "detect_period",
    "downsample",
    "fourier_forecast",
    "group_alarms",
    "list_segments",
    "render_chart_index",
    "render_sensor_chart",
    "run_backfill",
    "run_live",
    "sampling_interval",
    "score_readings",
    "send_command",
    "sensor_series",
    "sensor_stats",
    "smooth",
]
