"""A page from a real forecast and backtest (real model fits on a generated series), read back from
the plotly JSON in the page: only the chosen model drawn, every forecast trace joined to the last
observation, the measured coverage beside the nominal level forecast() recorded."""

import pandas as pd
import pytest

from tsplatform.forecasting import backtest, choose_best, forecast, render_category_chart, summarize_backtest

from .synthetic import weekly_trend_series
from .test_charts import backtest_cells, backtest_header, forecast_traces, page_figure

MODELS = ("sarimax", "holt_winters")
HORIZON, INTERVAL = 14, 0.9


@pytest.fixture(scope="module")
def real_page(tmp_path_factory):
    series = weekly_trend_series(140, seed=5)
    forecast_df = forecast(series, HORIZON, MODELS, INTERVAL)
    summary = summarize_backtest(backtest(series, HORIZON, MODELS, INTERVAL))
    best = choose_best(summary)
    page = render_category_chart("Garden", series, forecast_df, summary, best, tmp_path_factory.mktemp("pages") / "garden.html")
    return series, forecast_df, summary, best, page.read_text(encoding="utf-8")


def test_real_page_draws_the_chosen_model_joined_to_the_history(real_page):
    series, forecast_df, _, best, text = real_page
    figure = page_figure(text)
    by_model = forecast_traces(figure)
    assert set(by_model) == {*MODELS, "ensemble"}
    for model, traces in by_model.items():
        assert {t["visible"] for t in traces} == ({True} if model == best else {"legendonly"})
        for trace in traces:  # band and line both start at the last observed day and value
            assert pd.Timestamp(trace["x"][0]) == series.index[-1]
            assert trace["y"][0] == pytest.approx(series.iloc[-1])
            assert pd.Timestamp(trace["x"][1]) == series.index[-1] + pd.Timedelta(days=1)
    [line] = [t for t in by_model[best] if t.get("fill") != "toself"]
    assert line["y"][1:] == pytest.approx(forecast_df.loc[forecast_df["model"] == best, "yhat"].tolist())
    assert f"its {INTERVAL:.0%} prediction interval" in text


def test_real_page_shows_the_measured_coverage_beside_the_nominal_level(real_page):
    _, _, summary, _, text = real_page
    column = f"Coverage (nominal {INTERVAL:.0%})"
    assert column in backtest_header(text)
    shown = {model: row[column] for model, row in backtest_cells(text).items()}
    assert shown == {r["model"]: f"{r['coverage'] * 100:.1f}%" for r in summary.to_dict("records")}
    assert all(0 <= r["coverage"] <= 1 for r in summary.to_dict("records"))
