"""``tsplatform forecast`` and ``tsplatform forecasts`` as a user runs them."""

import json
import re
from pathlib import Path

from tsplatform.forecasting.models import MODEL_NAMES
from tsplatform_tests.forecasts_dagster.test_forecast_assets import sales_csv
from tsplatform_tests.invoices.test_cli import cli, write  # noqa: F401 - the subprocess fixture


def test_forecast_now_then_read_the_forecasts(cli, tmp_path):  # noqa: F811
    cli("upload", str(write(tmp_path, "s.csv", sales_csv(["Toys", "Books"], days=60))))
    cli("ingest")
    run = cli("forecast", "--horizon", "5", "--format", "json")
    summary = json.loads(run.stdout)
    assert sorted(row["category"] for row in summary) == ["Books", "Toys"]
    assert all(row["best_model"] in (*MODEL_NAMES, "ensemble") for row in summary)
    assert all(Path(row["chart"]).is_file() for row in summary)
    # progress for people on stderr, then where the charts are; none of Dagster's event log
    assert "forecasting 2 categories (Books .. Toys) in 1 run" in run.stderr
    assert "check forecasts_are_plausible passed" in run.stderr
    index = tmp_path / "data" / "reports" / "forecasts" / "index.html"
    assert f"2 categories forecast; charts: {index}" in run.stderr
    assert re.search(r"https?://\S+/charts/forecasts/index\.html", run.stderr)
    assert "DEBUG" not in run.stdout + run.stderr and " - dagster - " not in run.stderr

    best = json.loads(cli("forecasts", "--category", "Toys", "--best", "--format", "json").stdout)
    assert len(best) == 5 and all(r["is_best"] for r in best)
    sarimax = json.loads(cli("forecasts", "--model", "sarimax", "--start", "2024-03-02", "--format", "json").stdout)
    assert {r["category"] for r in sarimax} == {"Books", "Toys"} and all(r["forecast_date"] >= "2024-03-02" for r in sarimax)
    assert (tmp_path / "data" / "reports" / "forecasts" / "index.html").exists()

    unknown = cli("forecast", "--category", "Nope", check=False)
    assert unknown.returncode != 0 and "unknown categories: Nope" in unknown.stderr


def test_a_failed_forecast_says_which_step_failed_and_why(cli, tmp_path):  # noqa: F811
    cli("upload", str(write(tmp_path, "s.csv", sales_csv(["Toys"], days=40))))
    cli("ingest")
    (tmp_path / "data" / "reports" / "forecasts").write_text("a file where the charts' folder should be")
    run = cli("forecast", "--horizon", "3", check=False)
    assert run.returncode == 1
    assert "FAILED after" in run.stderr and "step category_forecasts: FileExistsError" in run.stderr
    assert "Traceback" not in run.stderr and "DEBUG" not in run.stderr
    assert "charts:" not in run.stderr  # the index could not be written either


def test_forecast_data_and_forecast_metrics_materialise_one_at_a_time_from_the_dagster_cli(cli, tmp_path):  # noqa: F811
    """``dagster asset materialize --select forecast_data --partition X`` (was: not subsettable)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import dagster as dg

    cli("upload", str(write(tmp_path, "s.csv", sales_csv(["Toys", "Books"], days=60))))
    cli("ingest")
    env = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    env.pop("TSPLATFORM_WAREHOUSE_URL", None)
    dagster = str(Path(sys.executable).parent / "dagster")

    def materialize(*args):
        command = [dagster, "asset", "materialize", "-m", "tsplatform.definitions", *args]
        result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]

    materialize("--select", "daily_category_sales")
    materialize("--select", "forecast_data", "--partition", "Toys")
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        data = instance.fetch_materializations(dg.AssetKey("forecast_data"), limit=10).records
        assert [r.partition_key for r in data] == ["Toys"]
        assert not instance.fetch_materializations(dg.AssetKey("forecast_metrics"), limit=10).records
        materialize("--select", "forecast_metrics", "--partition", "Books")
        metrics = instance.fetch_materializations(dg.AssetKey("forecast_metrics"), limit=10).records
        assert [r.partition_key for r in metrics] == ["Books"]
        assert len(instance.fetch_materializations(dg.AssetKey("forecast_data"), limit=10).records) == 1
    best = json.loads(cli("forecasts", "--category", "Toys", "--best", "--format", "json").stdout)
    assert len(best) == 30
