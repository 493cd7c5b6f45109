"""The forecast index lists every category that has forecasts, a short one included, with its flags;
a short series' page does not claim a backtest choice it did not make.

The forecasts come from the real library; they are stored through the warehouse module the asset
uses and the index is written by the real ``forecast_report`` asset, on both backends."""

import re

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tsplatform.definitions import defs
from tsplatform.defs.forecasts.assets import forecast_report
from tsplatform.forecasting import forecast_categories, page_filename, render_category_chart
from tsplatform.forecasting.flags import NAIVE_SHORT_SERIES
from tsplatform.warehouse import forecasts as forecast_table

HORIZON, INTERVAL = 30, 0.8  # the asset's default horizon: 20 days are too few for one backtest window


def daily_series(days: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days, freq="D")
    weekly = 10 * (1 + 0.3 * np.sin(2 * np.pi * index.dayofweek / 7))
    return pd.Series(weekly + rng.uniform(0, 2, days), index=index)


@pytest.fixture(scope="module")
def results():
    series = {"Long": daily_series(70, 0), "Short": daily_series(20, 1), "Tiny": daily_series(5, 2)}
    outcome = forecast_categories(series, HORIZON, INTERVAL, max_workers=1)
    assert not any(r.error for r in outcome.values())
    return series, outcome


def store(warehouse, outcome) -> None:
    with warehouse.transaction() as session:
        for category, result in outcome.items():
            forecast_table.replace_category_forecasts(
                session, category,
                forecast_table.forecast_rows(result.forecast, result.best_model, INTERVAL),
                forecast_table.metric_rows(result.backtest, result.best_model, HORIZON), None,
            )


def index_rows(text: str) -> dict[str, str]:
    rows = re.findall(r"<tr><td><a href=\"[^\"]+\">([^<]+)</a></td>(.*?)</tr>", text)
    return dict(rows)


def test_index_lists_short_and_long_categories(results, warehouse, data_paths, instance):
    _, outcome = results
    assert outcome["Short"].backtest.empty and outcome["Tiny"].backtest.empty and not outcome["Long"].backtest.empty
    store(warehouse, outcome)

    report = dg.materialize([forecast_report], instance=instance, resources=defs().resources)
    assert report.success
    metadata = report.asset_materializations_for_node("forecast_report")[0].metadata
    assert metadata["categories"].value == 3
    rows = index_rows(open(metadata["index"].value, encoding="utf-8").read())
    assert set(rows) == {"Long", "Short", "Tiny"}
    for short in ("Short", "Tiny"):
        result = outcome[short]
        assert "no backtest: series too short" in rows[short]
        assert f"<td>{result.best_model}</td>" in rows[short]
        assert f'<td class="flag">{result.flags[result.best_model]}</td>' in rows[short]
    assert NAIVE_SHORT_SERIES in rows["Tiny"]
    assert "no backtest" not in rows["Long"] and f"<td>{outcome['Long'].best_model}</td>" in rows["Long"]
    assert re.search(r"<td>\d+\.\d{3}</td>", rows["Long"])  # its mean MASE


@pytest.mark.parametrize("short_category", ["Short", "Tiny"])
def test_short_page_does_not_claim_a_backtest(results, tmp_path, short_category):
    series, outcome = results
    short, long = outcome[short_category], outcome["Long"]
    short_page = render_category_chart(short_category, series[short_category], short.forecast, short.summary,
                                       short.best_model, tmp_path / page_filename(short_category)).read_text(encoding="utf-8")
    long_page = render_category_chart("Long", series["Long"], long.forecast, long.summary, long.best_model,
                                      tmp_path / page_filename("Long")).read_text(encoding="utf-8")
    assert "backtest MASE" not in short_page
    assert "fallback: series too short for a backtest" in short_page
    assert "lowest backtest MASE" in long_page
