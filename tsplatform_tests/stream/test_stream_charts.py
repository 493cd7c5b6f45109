import pandas as pd
import pytest

from tsplatform.settings import data_paths
from tsplatform.stream import (
    ReadingGenerator,
    chart_file_name,
    detect_anomalies,
    fourier_forecast,
    render_sensor_chart,
    smooth,
)
from tsplatform.stream.sensor_charts import format_period


def test_chart_page_escapes_the_sensor_id_and_shares_one_plotly_bundle(stream_folder):
    readings = ReadingGenerator(1, seed=4, spike_probability=0.02).simulate("2024-01-01", 48 * 7, "30min")
    series = pd.Series(readings.value.to_numpy(), index=pd.DatetimeIndex(readings.ts))
    reports = data_paths().reports
    nasty = '<script>alert("x")</script>'
    first = render_sensor_chart(
        nasty, series, smooth(series, "3h"), detect_anomalies(series), fourier_forecast(series, "2D"),
        reports / chart_file_name(nasty),
    )
    bundle = reports / "plotly.min.js"
    written_at = bundle.stat().st_mtime_ns
    second = render_sensor_chart("sensor_2", readings, None, None, None, reports / chart_file_name("sensor_2"))
    page = first.read_text()
    assert nasty not in page and "&lt;script&gt;" in page
    assert 'src="plotly.min.js"' in page and "anomalies" in page and "prediction interval" in page
    assert second.exists() and bundle.stat().st_mtime_ns == written_at
    assert sorted(path.name for path in reports.glob("*.js")) == ["plotly.min.js"]


def test_chart_file_names_are_safe_and_distinct():
    names = {chart_file_name(sensor) for sensor in ["a/b", "a-b", "../etc", "sensor 1", ""]}
    assert len(names) == 5
    assert all("/" not in name and not name.startswith(".") and name.endswith(".html") for name in names)


@pytest.mark.parametrize(
    ("period", "shown"),
    [
        (pd.Timedelta("1D"), "24 h"), (pd.Timedelta("0 days 08:00:00"), "8 h"), ("30min", "30 min"),
        (pd.Timedelta(hours=26), "1 d 2 h"), (pd.Timedelta("2D"), "2 d"), ("90s", "1 min 30 s"), (0, "0 s"),
        (3600, "1 h"),
    ],
)
def test_period_is_shown_in_planner_units(period, shown):
    assert format_period(period) == shown


def test_forecast_legend_shows_the_period_in_hours_not_a_timedelta(stream_folder):
    readings = ReadingGenerator(1, seed=4).simulate("2024-01-01", 48 * 7, "30min")
    series = pd.Series(readings.value.to_numpy(), index=pd.DatetimeIndex(readings.ts))
    forecast = fourier_forecast(series, "1D")
    period = forecast.attrs["period"]
    page = render_sensor_chart("s1", series, None, None, forecast, data_paths().reports / "s1.html").read_text()
    assert f"forecast (period {format_period(period)})" in page
    assert str(pd.Timedelta(period)) not in page and " days " not in page
