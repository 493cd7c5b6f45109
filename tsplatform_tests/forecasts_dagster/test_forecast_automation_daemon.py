"""The forecast automation under a real ``dagster-daemon run`` keeps going (issue 11, points 6-8).

One daemon session, in phases (the daemon is slow to start), with the schedule firing every minute:
1. a good upload of three categories is ingested by the landing sensor; forecasts follow with nobody
   pressing a button, and a real tick of ``daily_forecast_schedule`` launches a run of
   ``category_forecast_job`` that succeeds with forecasts for every category;
2. the schedule is stopped (so what follows is the data's doing); a broken upload fails as a batch;
3. a good upload with a new category (and new days of an old one) arrives: the aggregate is not held
   back by the failed batch, the new category's forecasts appear, and the new and the changed
   category were refreshed by ONE run.
"""

import signal
import subprocess

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tsplatform.defs.dagster_tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import open_warehouse
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import land
from tsplatform_tests.reliability.test_daemon_faults import (
    BIN,
    PROJECT,
    daemon_environment,
    kill_group,
    start_daemon,
    wait_until,
)

JOB = "category_forecast_job"
SCHEDULE = "daily_forecast_schedule"


def sales_csv(categories, days, start, seed):
    rng = np.random.default_rng(seed)
    lines = ["Date,product_id,category,sales"]
    for day in pd.date_range(start, periods=days):
        for number, category in enumerate(categories):
            weekly = 20 + 5 * number + 4 * np.sin(2 * np.pi * day.dayofweek / 7)
            lines.append(f"{day:%Y-%m-%d},p{number},{category},{weekly + rng.uniform(0, 2):.2f}")
    return "\n".join(lines) + "\n"


def read_or_none(url, read):
    """``read(session)``, or None while a run holds the DuckDB file."""
    try:
        with open_warehouse(url).transaction() as session:
            return read(session)
    except Exception:  # noqa: BLE001 - the file is busy: the daemon's runs come first, look again later
        return None


def forecast_categories(url) -> set[str]:
    frame = read_or_none(url, forecast_table.read_forecasts)
    return set() if frame is None else set(frame["category"])


def upload_statuses(url) -> dict[str, str]:
    frame = read_or_none(url, upload_table.list_uploads)
    return {} if frame is None else dict(zip(frame["original_filename"], frame["status"]))


def forecast_runs(instance, **tags) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name=JOB, tags=tags)))


def schedule_run_succeeded(instance) -> dg.DagsterRun | None:
    done = [r for r in forecast_runs(instance, **{"dagster/schedule_name": SCHEDULE}) if r.is_finished]
    return next((r for r in done if r.status == dg.DagsterRunStatus.SUCCESS), None) or (
        pytest.fail(f"a scheduled forecast run failed: {done[0].run_id}") if done else None
    )


@pytest.mark.slow
def test_schedule_ticks_and_forecasts_keep_following_the_data_after_a_failed_upload(tmp_path):
    home, paths, url, env = daemon_environment(tmp_path, TSPLATFORM_FORECAST_REFRESH_CRON="* * * * *")
    log = tmp_path / "daemon.log"
    instance = dg.DagsterInstance.from_config(str(home))
    daemon = start_daemon(env, log)
    try:
        # 1. a good upload; forecasts follow; a real schedule tick's run succeeds
        land(paths, "first.csv", sales_csv(["A", "B", "C"], days=120, start="2025-01-01", seed=1))
        wait_until(lambda: forecast_categories(url) >= {"A", "B", "C"}, 420, "forecasts of A, B, C")
        scheduled = wait_until(lambda: schedule_run_succeeded(instance), 300, "a successful scheduled forecast run")
        assert scheduled.tags["tsplatform/trigger"] == "schedule"  # dagster/schedule_name: a real tick made it
        assert (scheduled.tags[ASSET_PARTITION_RANGE_START_TAG], scheduled.tags[ASSET_PARTITION_RANGE_END_TAG]) == ("A", "C")
        assert forecast_categories(url) == {"A", "B", "C"}

        # 2. stop the schedule: from here on, only the data triggers forecasts; a broken upload fails
        subprocess.run([str(BIN / "dagster"), "schedule", "stop", SCHEDULE, "-w", str(PROJECT / "workspace.yaml")],
                       cwd=PROJECT, env=env, check=True, capture_output=True)
        land(paths, "broken.csv", bytes(range(256)) * 4)
        wait_until(lambda: upload_statuses(url).get("broken.csv") == "failed", 180, "the broken upload to fail")
        data_runs_before = {r.run_id for r in forecast_runs(instance, **{"tsplatform/trigger": "data"})}

        # 3. a good upload with a new category D and new days of B: D's forecasts appear, in ONE run with B's
        land(paths, "second.csv", sales_csv(["B", "D"], days=120, start="2025-03-01", seed=2))
        wait_until(lambda: "D" in forecast_categories(url), 420, "forecasts of the new category D")
        new_runs = [r for r in forecast_runs(instance, **{"tsplatform/trigger": "data"}) if r.run_id not in data_runs_before]
        assert len(new_runs) == 1, [(r.run_id, r.tags) for r in new_runs]
        [run] = new_runs
        assert (run.tags[ASSET_PARTITION_RANGE_START_TAG], run.tags[ASSET_PARTITION_RANGE_END_TAG]) == ("B", "D")
        assert instance.get_dynamic_partitions("categories") == ["A", "B", "C", "D"]
        wait_until(lambda: instance.get_run_by_id(run.run_id).is_finished, 120, "the refresh run to finish")
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert upload_statuses(url) == {"first.csv": "completed", "broken.csv": "failed", "second.csv": "completed"}
    finally:
        kill_group(daemon, signal.SIGINT)
