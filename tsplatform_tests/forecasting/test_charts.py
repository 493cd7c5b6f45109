"""HTML pages: escaped, offline (sibling plotly.min.js), index linking every page.

The frames are built by hand: the charts do not care where the numbers came from."""

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
