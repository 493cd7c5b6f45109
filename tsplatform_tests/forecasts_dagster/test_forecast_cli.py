"""``tsplatform forecast`` and ``tsplatform forecasts`` as a user runs them."""

import json

from tsplatform_tests.forecasts_dagster.test_forecast_assets import sales_csv
from tsplatform_tests.invoices.test_cli import cli, write  # noqa: F401 - the subprocess fixture


def test_forecast_now_then_read_the_forecasts(cli, tmp_path):  # noqa: F811
    cli("upload", str(write(tmp_path, "s.csv", sales_csv(["Toys", "Books"], days=60))))
    cli("ingest")
    summary = json.loads(cli("forecast", "--horizon", "5", "--format", "json").stdout)
    assert sorted(row["category"] for row in summary) == ["Books", "Toys"]
    assert all(row["best_model"] in ("prophet", "sarimax", "holt_winters", "ensemble") for row in summary)

    best = json.loads(cli("forecasts", "--category", "Toys", "--best", "--format", "json").stdout)
    assert len(best) == 5 and all(r["is_best"] for r in best)
    sarimax = json.loads(cli("forecasts", "--model", "sarimax", "--start", "2024-03-02", "--format", "json").stdout)
    assert {r["category"] for r in sarimax} == {"Books", "Toys"} and all(r["forecast_date"] >= "2024-03-02" for r in sarimax)
    assert (tmp_path / "data" / "reports" / "forecasts" / "index.html").exists()

    unknown = cli("forecast", "--category", "Nope", check=False)
    assert unknown.returncode != 0 and "unknown categories: Nope" in unknown.stderr
