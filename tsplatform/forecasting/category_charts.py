"""Self-contained HTML pages: one interactive chart per category, and an index linking them.

Pages work offline: plotly.js is written once as ``plotly.min.js`` next to the pages and
referenced with ``include_plotlyjs="directory"``, so each page stays small. Every string
that comes from data (category names above all) is HTML-escaped before it reaches the
page, the plotly title included.

A planner reads the page at a glance: only the chosen model is drawn (line and interval band),
the other models sit in the legend (``visible="legendonly"``) one click away; every forecast
trace starts at the last observed point so the history runs into the forecast without a gap;
the backtest table puts the measured interval coverage next to the nominal level. Model names
are open-ended: known ones keep a fixed colour, any other takes the next palette colour.

Figures are plain dicts handed to ``plotly.io.to_html(..., validate=False)``: plotly's figure
objects validate and deep-copy every property, which cost more than the page is worth (about
0.09 CPU s a page against 0.01 s), and a forecast run writes one page per category.
"""

from __future__ import annotations

import hashlib
import html
import math
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd

from tsplatform.html_files import relative_href, write_html, write_plotly_js

ENSEMBLE_COLOR = "#d62728"
# fixed colours so a model looks the same on every page, whatever else ran beside it
MODEL_COLORS = {
    "ensemble": ENSEMBLE_COLOR,
    "prophet": "#1f77b4",
    "sarimax": "#ff7f0e",
    "holt_winters": "#2ca02c",
    "theta": "#9467bd",
    "seasonal_naive": "#8c564b",
    "naive": "#7f7f7f",
}
# any other model name, by its position among the unnamed ones (none of these is in MODEL_COLORS)
PALETTE = ("#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
HISTORY_COLOR = "#333"

_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
p.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin-top: 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .8rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.best { background: #fff4d6; font-weight: 600; }
td.flag { color: #a15c00; text-align: left; font-family: monospace; }
td.note { color: #666; text-align: left; font-style: italic; }
a { color: #1f5fbf; }
"""


def page_filename(category: object) -> str:
    """A safe, unique file name for a category page (hostile names cannot escape the folder)."""
    text = str(category)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "category"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}.html"


@lru_cache(maxsize=1)
def _white_template() -> dict:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def render_category_chart(
    category: object,
    history: pd.Series,
    forecast_df: pd.DataFrame,
    summary: pd.DataFrame,
    best_model: str,
    path: str | os.PathLike,
    *,
    history_points: int | None = None,
    index_href: str | None = "index.html",
    interval: float | None = None,
) -> Path:
    """Write the category page: recent history, the chosen model's forecast with its interval
    band (the other models one legend click away), and the backtest table with measured coverage
    beside the nominal level. ``interval`` defaults to ``forecast_df.attrs["settings"]["interval"]``
    (set by ``forecast``). Returns the page path."""
    import plotly.io as pio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_plotly_js(path.parent)
    name = html.escape(str(category), quote=True)
    level = _nominal_level(forecast_df, interval)

    recent = _recent_history(history, forecast_df, history_points)
    traces = [
        {"type": "scatter", "x": list(recent.index), "y": recent.to_numpy(), "name": "history", "mode": "lines",
         "line": {"color": HISTORY_COLOR, "width": 1.5}, "legendrank": 1}
    ]
    anchor = (recent.index[-1], float(recent.iloc[-1])) if len(recent) else None
    blocks = list(forecast_df.groupby("model", sort=False)) if len(forecast_df) else []
    shown = _shown_model([str(model) for model, _ in blocks], best_model)
    colors = model_colors([str(model) for model, _ in blocks])
    drawn = []
    for rank, (model, block) in enumerate(blocks, start=3):
        model = str(model)
        chosen = model == shown
        model_traces = _model_traces(model, _anchored(block, anchor), colors[model], chosen, level)
        for trace in model_traces:
            trace["legendrank"] = 2 if chosen else rank
        drawn.append((chosen, model_traces))
    for _, model_traces in sorted(drawn, key=lambda item: item[0]):  # the chosen model drawn last, on top
        traces += model_traces
    layout = {
        "title": {"text": f"{name}: forecast"},
        "template": _white_template(),
        "hovermode": "x unified",
        "height": 540,
        "legend": {"orientation": "h", "y": -0.15, "title": {"text": "click a model to show or hide it:"}},
        "margin": {"l": 60, "r": 20, "t": 60, "b": 40},
    }
    chart = pio.to_html(
        {"data": traces, "layout": layout}, validate=False, full_html=False, include_plotlyjs="directory",
        default_height="560px", config={"displaylogo": False},
    )
    band = f"shaded: its {_percent(level)} prediction interval" if level is not None else "shaded: its prediction interval"
    body = (
        f"<h1>{name}</h1>\n"
        f'<p class="sub">Chosen model ({_choice_reason(summary, best_model)}): <strong>{html.escape(str(best_model))}</strong>'
        f" ({band}); the other models are in the legend.</p>\n"
        f"{chart}\n<h2>Backtest</h2>\n{_metrics_table(summary, forecast_df, best_model, level)}\n"
    )
    if index_href:
        body += f'<p class="sub"><a href="{html.escape(index_href, quote=True)}">All categories</a></p>'

    write_html(path, _page(f"{name} forecast", body))
    return path


def model_colors(models: Iterable[str]) -> dict[str, str]:
    """A colour per model: fixed for known names, the palette in order for any other name."""
    colors: dict[str, str] = {}
    unnamed = 0
    for model in models:
        if model in colors:
            continue
        if model in MODEL_COLORS:
            colors[model] = MODEL_COLORS[model]
        else:
            colors[model] = PALETTE[unnamed % len(PALETTE)]
            unnamed += 1
    return colors


def render_index(entries: Iterable[Mapping], path: str | os.PathLike, *, title: str = "Forecasts") -> Path:
    """Write an index page linking every category page.

    Each entry needs ``category`` and ``path`` (the page file); ``best_model``, ``mase``,
    ``smape``, ``coverage`` and ``flags`` are shown when present, ``note`` in place of the
    three scores (e.g. a category without a backtest).
    """
    rows = []
    for entry in entries:
        href = relative_href(entry["path"], path)
        cells = [
            f'<td><a href="{href}">{html.escape(str(entry["category"]))}</a></td>',
            f"<td>{html.escape(str(entry.get('best_model', '')))}</td>",
            *_score_cells(entry),
            f'<td class="flag">{html.escape(str(entry.get("flags", "") or ""))}</td>',
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (
        "<table><thead><tr><th>Category</th><th>Chosen model</th><th>MASE</th><th>sMAPE %</th>"
        "<th>Coverage</th><th>Flags</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )
    safe_title = html.escape(title)
    return write_html(path, _page(safe_title, f"<h1>{safe_title}</h1>\n{table}"))


def _choice_reason(summary: pd.DataFrame, best_model: str = "") -> str:
    """Why the chosen model was chosen: by backtest only when the backtest scored something."""
    if summary.empty:
        return "fallback: series too short for a backtest"
    scores = pd.to_numeric(summary.get("mase", pd.Series(dtype="float64")), errors="coerce")
    if not scores.abs().lt(math.inf).any():
        return "fallback: the backtest scored no model"
    if best_model == "seasonal_naive":
        return "no model beat the seasonal naive in the backtest"
    return "lowest backtest MASE"


def _score_cells(entry: Mapping) -> list[str]:
    if entry.get("note"):
        return [f'<td colspan="3" class="note">{html.escape(str(entry["note"]))}</td>']
    return [f"<td>{_number(entry.get(key))}</td>" for key in ("mase", "smape", "coverage")]


def _recent_history(history: pd.Series, forecast_df: pd.DataFrame, history_points: int | None) -> pd.Series:
    history = history.dropna().sort_index()
    if history_points is None:
        horizon = int(forecast_df.groupby("model").size().max()) if len(forecast_df) else 0
        history_points = max(6 * horizon, 90)
    return history.iloc[-history_points:]


def _shown_model(models: list[str], best_model: str) -> str | None:
    """The one model drawn on open: the chosen one, else the ensemble, else the first."""
    for candidate in (best_model, "ensemble"):
        if candidate in models:
            return candidate
    return models[0] if models else None


def _anchored(block: pd.DataFrame, anchor: tuple | None) -> dict[str, list]:
    """The forecast block as columns of lists, the last observed point first so that the line
    joins the history; there the forecast, both bounds and the observation coincide."""
    columns = {key: block[key].tolist() for key in ("ds", "yhat", "lower", "upper")}
    columns["observed"] = [False] * len(block)
    if anchor is not None and len(block) and anchor[0] < columns["ds"][0]:
        ds, value = anchor
        for key, first in (("ds", ds), ("yhat", value), ("lower", value), ("upper", value), ("observed", True)):
            columns[key].insert(0, first)
    return columns


def _model_traces(model: str, block: Mapping[str, list], color: str, chosen: bool, level: float | None = None) -> list[dict]:
    """The interval band (a closed polygon, upper then lower reversed) and the forecast line;
    a model that is not chosen starts hidden, listed in the legend (both traces share its group)."""
    dates = block["ds"]
    visible = True if chosen else "legendonly"
    label = f"{model} (chosen)" if chosen else model
    band = {
        "type": "scatter",
        "x": dates + dates[::-1],
        "y": block["upper"] + block["lower"][::-1],
        "fill": "toself",
        "fillcolor": _rgba(color, 0.22 if chosen else 0.1),
        "line": {"width": 0},
        "hoverinfo": "skip",
        "legendgroup": model,
        "showlegend": False,
        "visible": visible,
        "name": f"{model} {_percent(level)} interval" if level is not None else f"{model} interval",
    }
    bounds = [
        "last actual" if seen else f"[{lower:.2f}, {upper:.2f}]"
        for seen, lower, upper in zip(block.get("observed", [False] * len(dates)), block["lower"], block["upper"])
    ]
    line = {
        "type": "scatter",
        "x": dates,
        "y": block["yhat"],
        "name": label,
        "mode": "lines",
        "legendgroup": model,
        "visible": visible,
        "line": {"color": color, "width": 3 if chosen else 1.6, "dash": "solid" if chosen else "dot"},
        "customdata": bounds,
        "hovertemplate": "%{y:.2f} %{customdata}",
    }
    return [band, line]


def _metrics_table(summary: pd.DataFrame, forecast_df: pd.DataFrame, best_model: str, level: float | None = None) -> str:
    flags = {str(m): str(b["flag"].iloc[0]) for m, b in forecast_df.groupby("model", sort=False)} if len(forecast_df) else {}
    rows = []
    for record in summary.to_dict("records"):
        model = str(record["model"])
        css = ' class="best"' if model == best_model else ""
        marker = " &#9733;" if model == best_model else ""
        rows.append(
            f"<tr{css}><td>{html.escape(model)}{marker}</td>"
            f"<td>{_number(record.get('mase'))}</td><td>{_number(record.get('smape'))}</td>"
            f"<td>{_coverage(record.get('coverage'))}</td><td>{html.escape(str(record.get('origins', '')))}</td>"
            f"<td>{html.escape(str(record.get('n', '')))}</td>"
            f'<td class="flag">{html.escape(flags.get(model, ""))}</td></tr>'
        )
    if not rows:
        return '<p class="sub">No backtest: the series is too short.</p>'
    coverage = f"Coverage (nominal {_percent(level)})" if level is not None else "Interval coverage"
    return (
        f"<table><thead><tr><th>Model</th><th>MASE</th><th>sMAPE %</th><th>{coverage}</th>"
        "<th>Origins</th><th>Points</th><th>Flags</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )


def _nominal_level(forecast_df: pd.DataFrame, interval: float | None) -> float | None:
    """The interval level the bands were made for: given, else what ``forecast`` recorded."""
    if interval is None:
        interval = (forecast_df.attrs.get("settings") or {}).get("interval")
    try:
        level = float(interval)  # type: ignore[arg-type]  # None and text fall to the except
    except (TypeError, ValueError):
        return None
    return level if 0 < level < 1 else None


def _percent(level: float) -> str:
    """0.95 -> '95%', 0.975 -> '97.5%'."""
    return f"{level * 100:.1f}".rstrip("0").rstrip(".") + "%"


def _coverage(value) -> str:
    """Measured coverage as a percentage, to read against the nominal level in the header."""
    return _formatted(value, lambda number: f"{number * 100:.1f}%")


def _page(title: str, body: str) -> str:
    """``title`` and ``body`` must already be escaped."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _number(value) -> str:
    return _formatted(value, lambda number: f"{number:.3f}")


def _formatted(value, render) -> str:
    """``render(number)``, or '' for a missing or non-finite value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return render(number) if math.isfinite(number) else ""


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
