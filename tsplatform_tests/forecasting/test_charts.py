"""HTML pages: escaped, offline (sibling plotly.min.js), index linking every page; read at a glance
(only the chosen model drawn, the others in the legend, forecasts joined to the history, measured
coverage beside the nominal level), read back from the plotly JSON written into the page.

The frames are built by hand: the charts do not care where the numbers came from."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import page_filename, render_category_chart, render_index

HOSTILE = "<script>alert(1)</script>"


def fake_results(horizon: int = 7):
    history = pd.Series(np.arange(60.0), index=pd.date_range("2023-01-01", periods=60))
    ds = pd.date_range("2023-03-02", periods=horizon)
    blocks = []
    for offset, model in enumerate(("prophet", "sarimax", "holt_winters", "ensemble")):
        yhat = 60 + np.arange(horizon) + offset
        blocks.append(pd.DataFrame({"model": model, "ds": ds, "yhat": yhat, "lower": yhat - 3, "upper": yhat + 3, "flag": ""}))
    forecast_df = pd.concat(blocks, ignore_index=True)
    summary = pd.DataFrame(
        {
            "model": ["prophet", "sarimax", "holt_winters", "ensemble"],
            "smape": [3.0, 2.5, 2.8, 2.4],
            "mase": [0.9, 0.8, 0.85, 0.75],
            "coverage": [0.9, 1.0, 0.95, 1.0],
            "origins": [3] * 4,
            "n": [21] * 4,
        }
    )
    return history, forecast_df, summary


def page_figure(text: str) -> dict:
    """The figure plotly wrote into the page: the arguments of its ``Plotly.newPlot`` call."""
    decoder = json.JSONDecoder()
    rest = text[text.index("Plotly.newPlot(") + len("Plotly.newPlot("):]
    values = []
    for _ in range(3):  # the div id, the traces, the layout
        rest = rest.lstrip().lstrip(",").lstrip()
        value, end = decoder.raw_decode(rest)
        values.append(value)
        rest = rest[end:]
    return {"data": values[1], "layout": values[2]}


def forecast_traces(figure: dict) -> dict[str, list[dict]]:
    """Traces per model (its band and line share the model's legend group)."""
    by_model: dict[str, list[dict]] = {}
    for trace in figure["data"]:
        if trace.get("legendgroup"):
            by_model.setdefault(trace["legendgroup"], []).append(trace)
    return by_model


def backtest_header(text: str) -> list[str]:
    table = text[text.index("<h2>Backtest</h2>"):]
    return re.findall(r"<th>([^<]*)</th>", table[: table.index("</thead>")])


def backtest_cells(text: str) -> dict[str, dict[str, str]]:
    """Backtest table rows: model -> {column header: cell text}."""
    header = backtest_header(text)
    table = text[text.index("<h2>Backtest</h2>"):]
    rows = re.findall(r"<tr[^>]*><td>([^<&]+)(?: &#9733;)?</td>(.*?)</tr>", table)
    return {model.strip(): dict(zip(header[1:], re.findall(r"<td[^>]*>([^<]*)</td>", cells))) for model, cells in rows}


def test_hostile_category_name_is_escaped(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    page = render_category_chart(HOSTILE, history, forecast_df, summary, "ensemble", tmp_path / page_filename(HOSTILE))
    text = page.read_text(encoding="utf-8")
    assert HOSTILE not in text
    assert "alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # the only scripts are plotly's own: its config, the sibling library and the plot call
    assert re.findall(r"<script[^>]*src=\"([^\"]+)\"", text) == ["plotly.min.js"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.html", page.name)  # the file name cannot carry markup


def test_page_is_offline_small_and_shows_metrics(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    page = render_category_chart("toys", history, forecast_df, summary, "sarimax", tmp_path / "toys.html")
    text = page.read_text(encoding="utf-8")
    library = tmp_path / "plotly.min.js"
    assert library.exists() and library.stat().st_size > 1_000_000
    assert "cdn.plot.ly" not in text and "https://" not in text
    assert page.stat().st_size < 200_000  # plotly.js is not inlined
    assert '<tr class="best"><td>sarimax &#9733;</td><td>0.800</td>' in text
    assert "sarimax (chosen)" in text
    for model in ("prophet", "holt_winters", "ensemble"):
        assert model in text


def test_index_links_every_page(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    entries = []
    for category in ("toys", "garden & tools", HOSTILE):
        page = render_category_chart(category, history, forecast_df, summary, "ensemble", tmp_path / "pages" / page_filename(category))
        entries.append({"category": category, "path": page, "best_model": "ensemble", "mase": 0.75, "flags": ""})
    index = render_index(entries, tmp_path / "pages" / "index.html")
    text = index.read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">', text)
    assert sorted(links) == sorted(page_filename(c) for c in ("toys", "garden & tools", HOSTILE))
    for link in links:
        assert (index.parent / link).exists()
    assert "garden &amp; tools" in text
    assert HOSTILE not in text and "&lt;script&gt;" in text


@pytest.mark.parametrize("name", ["toys", "a/b", "..", HOSTILE, "", "ä ö"])
def test_page_filenames_are_safe_and_distinct(name):
    filename = page_filename(name)
    assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}\.html", filename)
    assert page_filename(name + "x") != filename


def test_only_the_chosen_model_is_drawn_the_others_wait_in_the_legend(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    page = render_category_chart("toys", history, forecast_df, summary, "sarimax", tmp_path / "toys.html")
    figure = page_figure(page.read_text(encoding="utf-8"))
    by_model = forecast_traces(figure)
    assert set(by_model) == {"prophet", "sarimax", "holt_winters", "ensemble"}
    for model, traces in by_model.items():
        assert len(traces) == 2  # band and line
        band = next(t for t in traces if t.get("fill") == "toself")
        line = next(t for t in traces if t.get("fill") != "toself")
        expected = True if model == "sarimax" else "legendonly"
        assert band["visible"] == expected and line["visible"] == expected
        assert line.get("showlegend", True) and not band["showlegend"]  # one legend item toggles both
    [history_trace] = [t for t in figure["data"] if t["name"] == "history"]
    assert history_trace.get("visible", True) is True
    drawn = [t for t in figure["data"] if t.get("visible", True) is True]
    assert len(drawn) == 3 and {t["name"] for t in drawn} == {"history"} | {t["name"] for t in by_model["sarimax"]}
    # the chosen model first in the legend after the history, drawn last (on top)
    assert figure["data"][-1]["name"] == "sarimax (chosen)"
    ranks = {t["name"]: t["legendrank"] for t in figure["data"] if t.get("showlegend", True)}
    assert ranks["history"] < ranks["sarimax (chosen)"] < min(r for n, r in ranks.items() if n not in ("history", "sarimax (chosen)"))


def test_every_forecast_trace_starts_at_the_last_observed_point(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    page = render_category_chart("toys", history, forecast_df, summary, "ensemble", tmp_path / "toys.html")
    figure = page_figure(page.read_text(encoding="utf-8"))
    [history_trace] = [t for t in figure["data"] if t["name"] == "history"]
    last_x, last_y = history_trace["x"][-1], history_trace["y"][-1]
    assert pd.Timestamp(last_x) == history.index[-1] and last_y == history.iloc[-1]
    first_forecast_day = forecast_df["ds"].min()
    traces = [t for t in figure["data"] if t["name"] != "history"]
    assert len(traces) == 8
    for trace in traces:
        assert trace["x"][0] == last_x and trace["y"][0] == last_y, trace["name"]
        assert pd.Timestamp(trace["x"][1]) == first_forecast_day, trace["name"]
    for trace in traces:
        if trace.get("fill") != "toself":
            block = forecast_df[forecast_df["model"] == trace["legendgroup"]]
            assert trace["y"][1:] == block["yhat"].tolist() and len(trace["x"]) == len(block) + 1


def test_backtest_table_shows_measured_coverage_beside_the_nominal_level(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    text = render_category_chart("toys", history, forecast_df, summary, "sarimax", tmp_path / "a.html", interval=0.8).read_text()
    header = backtest_header(text)
    assert "Coverage (nominal 80%)" in header
    coverage = {model: row["Coverage (nominal 80%)"] for model, row in backtest_cells(text).items()}
    assert coverage == {"prophet": "90.0%", "sarimax": "100.0%", "holt_winters": "95.0%", "ensemble": "100.0%"}
    assert "80% prediction interval" in text  # the band is described in the same terms
    # without the keyword, the level forecast() recorded in the frame's settings
    forecast_df.attrs["settings"] = {"interval": 0.975}
    text = render_category_chart("toys", history, forecast_df, summary, "sarimax", tmp_path / "b.html").read_text()
    assert "Coverage (nominal 97.5%)" in backtest_header(text)


def test_any_model_name_gets_its_own_colour_and_can_be_the_chosen_one(tmp_path: Path):
    history, forecast_df, _ = fake_results()
    names = ["naive", "seasonal_naive", "theta", "prophet", "sarimax", "holt_winters", "ensemble", "new_model_a", "new_model_b"]
    ds = forecast_df["ds"].unique()
    blocks = [pd.DataFrame({"model": m, "ds": ds, "yhat": 61.0 + i, "lower": 58.0 + i, "upper": 64.0 + i, "flag": ""})
              for i, m in enumerate(names)]
    frame = pd.concat(blocks, ignore_index=True)
    summary = pd.DataFrame({"model": names, "smape": 2.0, "mase": np.linspace(1, 0.5, len(names)), "coverage": 0.9,
                            "origins": 3, "n": 21})
    text = render_category_chart("toys", history, frame, summary, "new_model_b", tmp_path / "toys.html").read_text()
    by_model = forecast_traces(page_figure(text))
    assert set(by_model) == set(names)
    colours = {m: next(t for t in traces if t.get("fill") != "toself")["line"]["color"] for m, traces in by_model.items()}
    assert len(set(colours.values())) == len(names)
    assert {m for m, traces in by_model.items() if all(t["visible"] is True for t in traces)} == {"new_model_b"}
    assert '<tr class="best"><td>new_model_b &#9733;</td>' in text


def test_a_seasonal_naive_fallback_says_why_it_was_chosen(tmp_path: Path):
    history, forecast_df, summary = fake_results()
    fallback = forecast_df[forecast_df["model"] == "sarimax"].assign(model="seasonal_naive")
    frame = pd.concat([forecast_df, fallback], ignore_index=True)
    summary = pd.concat([summary, summary.iloc[[0]].assign(model="seasonal_naive", mase=0.7)], ignore_index=True)
    text = render_category_chart("toys", history, frame, summary, "seasonal_naive", tmp_path / "t.html").read_text()
    assert "Chosen model (no model beat the seasonal naive in the backtest)" in text
    chosen_by_mase = render_category_chart("toys", history, forecast_df, fake_results()[2], "ensemble", tmp_path / "u.html")
    assert "Chosen model (lowest backtest MASE)" in chosen_by_mase.read_text()
