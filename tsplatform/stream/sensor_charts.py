"""One interactive HTML page per sensor: raw readings, smoothed line, anomalies, forecast band.

Pages load ``plotly.min.js`` from their own folder (written once by plotly beside the first page),
so they work without internet access and stay small.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from tsplatform.html_files import relative_href, write_html, write_plotly_js
from tsplatform.stream.series import as_series


def chart_file_name(sensor_id: str) -> str:
    """A safe, stable file name for a sensor's page (ids may contain anything)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", sensor_id).strip("-.")[:60] or "sensor"
    digest = hashlib.sha1(sensor_id.encode()).hexdigest()[:8]
    return f"{slug}-{digest}.html"


def render_sensor_chart(
    sensor_id: str,
    readings: pd.Series | pd.DataFrame,
    smoothed: pd.Series | None,
    anomalies: pd.DataFrame | None,
    forecast: pd.DataFrame | None,
    path: Path | str,
    *,
    max_points: int | None = None,
) -> Path:
    """Write the page to ``path`` and return it.

    readings: a Series on a DatetimeIndex or a frame with ts/value; smoothed: a Series like it;
    anomalies: ``detect_anomalies`` output (rows with is_anomaly are marked); forecast:
    ``fourier_forecast`` output (ds, yhat, lower, upper). Any of the last three may be None.
    max_points: draw at most this many raw readings and smoothed points (evenly thinned, so a day
    of a fast stream stays a page a browser can open); anomalies and the forecast are never thinned.
    """
    import plotly.graph_objects as go

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = html.escape(sensor_id)
    raw = _thin(as_series(readings).sort_index(), max_points)
    if smoothed is not None:
        smoothed = _thin(smoothed, max_points)
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=raw.index, y=raw.to_numpy(), mode="markers", name="readings",
                                marker={"size": 3, "color": "#7f8c8d"}, opacity=0.6))
    if smoothed is not None and len(smoothed):
        line = smoothed.sort_index()
        figure.add_trace(go.Scatter(x=line.index, y=line.to_numpy(), mode="lines", name="smoothed",
                                    line={"color": "#2c3e50", "width": 2}))
    if anomalies is not None and len(anomalies):
        flagged = anomalies[anomalies["is_anomaly"]]
        figure.add_trace(go.Scatter(x=flagged.index, y=flagged["value"], mode="markers", name="anomalies",
                                    marker={"size": 9, "color": "#e74c3c", "symbol": "x"},
                                    customdata=flagged["score"],
                                    hovertemplate="%{x}<br>value %{y:.2f}<br>score %{customdata:.1f}<extra></extra>"))
    if forecast is not None and len(forecast):
        _add_forecast(figure, forecast, go)
    figure.update_layout(
        title=f"Sensor {name}",
        xaxis_title="time (UTC)",
        yaxis_title="value",
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.15},
    )
    write_plotly_js(Path(path).parent)
    return write_html(path, figure.to_html(include_plotlyjs="directory", full_html=True))


def _add_forecast(figure, forecast: pd.DataFrame, go) -> None:
    coverage = forecast.attrs.get("interval")
    interval = f"{coverage:.0%} prediction interval" if coverage else "prediction interval"
    figure.add_trace(go.Scatter(x=forecast["ds"], y=forecast["upper"], mode="lines", line={"width": 0},
                                showlegend=False, hoverinfo="skip"))
    figure.add_trace(go.Scatter(x=forecast["ds"], y=forecast["lower"], mode="lines", line={"width": 0},
                                fill="tonexty", fillcolor="rgba(52, 152, 219, 0.2)", name=interval))
    period = forecast.attrs.get("period")
    label = f"forecast (period {format_period(period)})" if period is not None else "forecast"
    reason = forecast.attrs.get("period_reason")
    if reason:
        figure.add_annotation(text=html.escape(f"period: {reason}"), xref="paper", yref="paper", x=0, y=1.06,
                              showarrow=False, align="left", font={"size": 12, "color": "#555"})
    figure.add_trace(go.Scatter(x=forecast["ds"], y=forecast["yhat"], mode="lines", name=html.escape(label),
                                line={"color": "#2980b9", "dash": "dash"}))


def format_period(period: pd.Timedelta | str | float) -> str:
    """A period as a planner reads it: ``24 h``, ``8 h``, ``30 min``, ``1 d 2 h`` (days only above
    24 h, zero parts left out); a number is taken as seconds."""
    delta = pd.to_timedelta(period, unit="s") if isinstance(period, (int, float)) else pd.Timedelta(period)
    sign, seconds = ("-" if delta < pd.Timedelta(0) else ""), abs(delta).total_seconds()
    units: tuple[tuple[str, int], ...] = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    if seconds <= 86_400:
        units = units[1:]
    parts = []
    for unit, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{int(count)} {unit}")
    if seconds:  # a fraction of a second
        parts.append(f"{seconds:g} s")
    return sign + (" ".join(parts) or "0 s")


def _thin(series: pd.Series, max_points: int | None) -> pd.Series:
    """Every k-th point so that at most ``max_points`` remain (the last point always kept)."""
    if max_points is None or len(series) <= max_points:
        return series
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    step = -(-len(series) // max_points)
    picked = list(range(0, len(series) - 1, step)) + [len(series) - 1]
    return series.iloc[picked]


def render_chart_index(charts: Mapping[str, Path | str], path: Path | str, title: str = "Sensor charts") -> Path:
    """A plain HTML page linking each sensor's chart (``{sensor_id: chart path}``). Links are
    relative to the index's folder, so they work opened from disk and served over HTTP alike."""
    items = []
    for sensor_id, chart in sorted(charts.items()):
        items.append(f'<li><a href="{relative_href(chart, path)}">{html.escape(sensor_id)}</a></li>')
    body = "\n".join(items) or "<li>no sensors yet</li>"
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n<ul>\n{body}\n</ul></body></html>\n"
    )
    return write_html(path, page)
