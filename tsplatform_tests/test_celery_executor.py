"""Celery mode (issue 15): a forecast refresh split into runs of 2 categories, each run's forecast step
executed by one of two real ``dagster-celery`` workers on the local RabbitMQ, under a real
``dagster-daemon run`` (local shape: SQLite instance, DuckDB warehouse), configured by the
environment only (TSPLATFORM_EXECUTOR=celery ...; tsplatform/scale_out.py).

The workers listen on a queue of their own (purged first, deleted after), so parallel test runs
and leftover messages cannot interfere. RabbitMQ missing: skipped locally, a failure in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tsplatform.defs.dagster_tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from tsplatform.defs.forecasts.refresh import REFRESH_PART_TAG, REFRESH_TAG
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import open_warehouse
from tsplatform_tests.conftest import land
from tsplatform_tests.processes import MARKER, kill_leftovers, missing_in_ci, stop_groups, wait_until_gone

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BROKER = os.environ.get("TSPLATFORM_TEST_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
JOB = "category_forecast_job"
CATEGORIES = [f"cat_{number:02d}" for number in range(8)]
PER_RUN = 2
CELERY_WORKER = "Celery worker"  # dagster_celery's engine event names the worker that ran the step


def sales_csv(days: int = 90, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    lines = ["Date,product_id,category,sales"]
    for day in pd.date_range("2025-01-01", periods=days):
        for number, category in enumerate(CATEGORIES):
            weekly = 20 + 3 * number + 4 * np.sin(2 * np.pi * day.dayofweek / 7)
            lines.append(f"{day:%Y-%m-%d},p{number},{category},{weekly + rng.uniform(0, 2):.2f}")
    return "\n".join(lines) + "\n"


def reachable_broker() -> None:
    import kombu

    try:
        with kombu.Connection(BROKER, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # noqa: BLE001 - any failure to connect means: no broker here
        missing_in_ci(f"RabbitMQ is not reachable at {BROKER} (TSPLATFORM_TEST_CELERY_BROKER): {error}")


def queue_action(queue: str, action: str) -> None:
    """``purge`` or ``delete`` the queue if it exists (the workers declare it, with their arguments)."""
    import amqp.exceptions
    import kombu

    with kombu.Connection(BROKER, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            channel.queue_purge(queue) if action == "purge" else channel.queue_delete(queue)
        except amqp.exceptions.NotFound:
            pass  # not declared yet (or gone): nothing in it


def world(root: Path) -> dict[str, str]:
    """A private DAGSTER_HOME (the project's dagster.yaml: SQLite, the warehouse_writer pool of 1),
    data folder and DuckDB warehouse; the environment of every process started on them."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    data = root / "data"
    variables = {"DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(data),
                 "TSPLATFORM_WAREHOUSE_URL": f"duckdb:///{data / 'warehouse.duckdb'}"}
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("TSPLATFORM_EXECUTOR", "TSPLATFORM_CELERY", "TSPLATFORM_FORECAST_"))}
    return {**environment, **variables, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def ingest_and_aggregate(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same upload in each world, ingested and aggregated in this process (as `tsplatform
    forecast` does): daily_category_sales' materialization is what the refresh sensor follows."""
    from tsplatform.definitions import defs
    from tsplatform.defs.forecasts.assets import daily_category_sales
    from tsplatform.local_runs import ingest_landing_now
    from tsplatform.settings import DataPaths

    for name in ("DAGSTER_HOME", "TSPLATFORM_DATA_DIR", "TSPLATFORM_WAREHOUSE_URL"):
        monkeypatch.setenv(name, env[name])
    paths = DataPaths(Path(env["TSPLATFORM_DATA_DIR"])).ensure()
    land(paths, "sales.csv", sales_csv())
    with dg.DagsterInstance.get() as instance:
        definitions = defs()
        report = ingest_landing_now(instance, definitions, paths, open_warehouse(env["TSPLATFORM_WAREHOUSE_URL"]))
        assert report.run_ids and all(instance.get_run_by_id(r).is_success for r in report.run_ids.values())
        assert dg.materialize([daily_category_sales], instance=instance, resources=definitions.resources).success
        assert instance.get_dynamic_partitions("categories") == CATEGORIES


def stored(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """forecast_data and forecast_metrics without the columns that name the run or the time."""
    with open_warehouse(url).transaction() as session:
        forecasts, metrics = forecast_table.read_forecasts(session), forecast_table.read_metrics(session)

    def comparable(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return frame.drop(columns=["created_at", "run_id"]).sort_values(keys, ignore_index=True)

    return (comparable(forecasts, ["category", "model_type", "forecast_date"]),
            comparable(metrics, ["category", "model_type", "origin"]))


def refresh_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs(dg.RunsFilter(job_name=JOB)) if REFRESH_TAG in r.tags]


def celery_workers_of(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The Celery workers that executed the run's steps, from dagster_celery's engine events."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
    workers = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.step_key == "category_forecasts" and CELERY_WORKER in event.engine_event_data.metadata:
            workers.add(event.engine_event_data.metadata[CELERY_WORKER].value)
    return workers


def pool_processes(instance: dg.DagsterInstance, run_id: str) -> int:
    """The forecast step's pool size, from the run's forecast_data materializations (one a partition)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    [size] = {r.asset_materialization.metadata["pool_processes"].value
              for r in records if r.asset_key == dg.AssetKey("forecast_data")}
    return size


def wait_until(condition, seconds: float, what: str, processes: dict[str, subprocess.Popen], every: float = 1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        dead = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
        assert not dead, f"exited while waiting for {what}: {dead}"
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


@pytest.mark.slow
def test_a_refresh_is_spread_over_two_celery_workers_and_stores_what_a_local_run_stores(tmp_path, monkeypatch):
    reachable_broker()
    started = time.monotonic()
    mark = f"celery-{uuid.uuid4().hex[:12]}"
    queue = f"tsplatform-test-{mark}"
    celery_env, local_env = world(tmp_path / "celery"), world(tmp_path / "local")
    ingest_and_aggregate(celery_env, monkeypatch)
    ingest_and_aggregate(local_env, monkeypatch)
    celery_env.update({
        MARKER: mark,
        "TSPLATFORM_EXECUTOR": "celery",
        "TSPLATFORM_CELERY_BROKER": BROKER,
        "TSPLATFORM_CELERY_QUEUE": queue,
        "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN": str(PER_RUN),
    })
    local_env[MARKER] = mark
    queue_action(queue, "purge")
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, command: list[str], env: dict[str, str]) -> None:
        processes[name] = subprocess.Popen(command, cwd=PROJECT, env=env, start_new_session=True,
                                           stdout=(logs / f"{name}.log").open("wb"), stderr=subprocess.STDOUT)

    workers = {f"w{number}-{mark}" for number in (1, 2)}
    try:
        for worker in sorted(workers):
            start(worker, [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                           "-y", str(PROJECT / "deploy" / "celery.yaml"), "-q", queue, "-n", worker,
                           "--loglevel", "WARNING", "--", "--concurrency=1"], celery_env)
        start("daemon", [str(BIN / "dagster-daemon"), "run", "--workspace", str(PROJECT / "workspace.yaml")], celery_env)
        # the reference: the same refresh in default mode, ONE run on the multiprocess executor
        # (its step's process pool over all cores), in a world of its own
        start("local", [str(BIN / "dagster"), "job", "execute", "-m", "tsplatform.definitions", "-j", JOB, "--tags",
                        f'{{"{ASSET_PARTITION_RANGE_START_TAG}": "{CATEGORIES[0]}", '
                        f'"{ASSET_PARTITION_RANGE_END_TAG}": "{CATEGORIES[-1]}"}}'], local_env)

        instance = dg.DagsterInstance.from_config(celery_env["DAGSTER_HOME"])
        expected_runs = len(CATEGORIES) // PER_RUN
        runs = wait_until(lambda: len(r := refresh_runs(instance)) == expected_runs and all(x.is_finished for x in r) and r,
                          150, f"{expected_runs} finished refresh runs", {k: v for k, v in processes.items() if k != "local"})
        assert processes["local"].wait(timeout=120) == 0, (logs / "local.log").read_text()[-3000:]
        print(f"celery refresh and the local run finished {time.monotonic() - started:.0f} s after the start")

        # one refresh, split by the sensor into disjoint runs of 2 categories that cover all 8
        assert {r.tags[REFRESH_TAG] for r in runs} == {runs[0].tags[REFRESH_TAG]}
        assert runs[0].tags[REFRESH_TAG].startswith("forecast_refresh_sensor:")
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [(r.run_id, r.status) for r in runs]
        ranges = sorted((r.tags[ASSET_PARTITION_RANGE_START_TAG], r.tags[ASSET_PARTITION_RANGE_END_TAG]) for r in runs)
        assert ranges == [(CATEGORIES[i], CATEGORIES[i + 1]) for i in range(0, len(CATEGORIES), PER_RUN)]
        assert sorted(r.tags[REFRESH_PART_TAG] for r in runs) == [f"{n}/{expected_runs}" for n in range(1, expected_runs + 1)]

        # (a) every run's forecast step ran on a Celery worker, and both workers took steps
        by_run = {r.run_id: celery_workers_of(instance, r.run_id) for r in runs}
        assert all(len(names) == 1 for names in by_run.values()), by_run
        used = set().union(*by_run.values())
        assert {name.split("@")[0] for name in used} == workers, by_run

        # in celery mode the step's own pool is 1 process (the workers are the parallelism); locally, all cores
        for run in runs:
            assert pool_processes(instance, run.run_id) == 1, run.run_id
        local_instance = dg.DagsterInstance.from_config(local_env["DAGSTER_HOME"])
        [local_run] = local_instance.get_runs(dg.RunsFilter(job_name=JOB))
        assert REFRESH_TAG not in local_run.tags and pool_processes(local_instance, local_run.run_id) == os.cpu_count()

        # (b) the stored forecasts and backtest metrics are those of the local run of the same data
        celery_forecasts, celery_metrics = stored(celery_env["TSPLATFORM_WAREHOUSE_URL"])
        local_forecasts, local_metrics = stored(local_env["TSPLATFORM_WAREHOUSE_URL"])
        assert set(celery_forecasts["category"]) == set(CATEGORIES)
        pd.testing.assert_frame_equal(celery_forecasts, local_forecasts)
        pd.testing.assert_frame_equal(celery_metrics, local_metrics)
    finally:
        stop_groups(list(processes.values()), seconds=30)
        wait_until_gone(mark, 10)
        kill_leftovers(mark)  # run workers and pool processes that outlived their group
        try:
            queue_action(queue, "delete")
        except Exception:  # noqa: BLE001 - the broker went away: nothing left to clean
            pass
