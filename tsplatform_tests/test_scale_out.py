"""The execution mode is configuration only (tsplatform/scale_out.py): with no variable set, a refresh
is today's single run on the multiprocess executor; celery mode splits it and swaps the executor."""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from tsplatform import scale_out
from tsplatform.defs.dagster_tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from tsplatform.defs.forecasts.refresh import REFRESH_PART_TAG, REFRESH_TAG, refresh_request, refresh_requests

VARIABLES = (scale_out.EXECUTOR_VARIABLE, scale_out.BROKER_VARIABLE, scale_out.QUEUE_VARIABLE,
             scale_out.CATEGORIES_PER_RUN_VARIABLE, scale_out.MAX_WORKERS_VARIABLE)
ORDER = [f"c{n}" for n in range(10)]


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def span(request: dg.RunRequest) -> tuple[str, str]:
    return request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]


def test_default_mode_is_one_run_on_all_cores(clean_env):
    assert scale_out.executor_mode() == "multiprocess" and scale_out.forecast_executor() is None
    assert scale_out.categories_per_run() is None
    assert scale_out.step_max_workers() == os.cpu_count() and scale_out.step_max_workers(3) == 3
    assert scale_out.forecast_backfill_policy() == dg.BackfillPolicy.single_run()
    [request] = refresh_requests(["c2", "c7"], ORDER, "key", "data", per_run=scale_out.categories_per_run())
    assert request == refresh_request(["c2", "c7"], ORDER, "key", "data")  # the very same request as before


def test_categories_per_run_splits_a_refresh_into_disjoint_runs(clean_env):
    clean_env.setenv(scale_out.CATEGORIES_PER_RUN_VARIABLE, "3")
    requests = refresh_requests(["c1", "c2", "c4", "c5", "c8", "c9", "c0"], ORDER, "key", "schedule",
                                per_run=scale_out.categories_per_run())
    assert [span(r) for r in requests] == [("c0", "c2"), ("c4", "c8"), ("c9", "c9")]
    assert [r.run_key for r in requests] == ["key:1/3", "key:2/3", "key:3/3"]
    assert {r.tags[REFRESH_TAG] for r in requests} == {"key"} and requests[1].tags[REFRESH_PART_TAG] == "2/3"
    assert all(r.tags["tsplatform/trigger"] == "schedule" and r.job_name == "category_forecast_job" for r in requests)
    assert scale_out.forecast_backfill_policy() == dg.BackfillPolicy.multi_run(3)
    assert scale_out.forecast_executor() is None  # splitting alone keeps the local executor
    with pytest.raises(ValueError, match="not category partitions"):
        refresh_requests(["nope"], ORDER, "key", "data", per_run=3)


def test_celery_mode_defaults(clean_env):
    clean_env.setenv(scale_out.EXECUTOR_VARIABLE, "celery")
    assert scale_out.categories_per_run() == scale_out.CELERY_CATEGORIES_PER_RUN
    assert scale_out.step_max_workers() == os.cpu_count()  # not on a Celery worker: `tsplatform forecast`
    clean_env.setenv(scale_out.MAX_WORKERS_VARIABLE, "2")
    assert scale_out.step_max_workers() == 2
    clean_env.setenv(scale_out.QUEUE_VARIABLE, "forecasts")
    config = scale_out.celery_executor_config()
    assert config["broker"] == scale_out.DEFAULT_BROKER and config["config_source"] == {"task_default_queue": "forecasts"}
    clean_env.setenv(scale_out.EXECUTOR_VARIABLE, "kubernetes")
    with pytest.raises(ValueError, match="TSPLATFORM_EXECUTOR"):
        scale_out.executor_mode()


def test_an_explicit_0_is_one_run_even_in_celery_mode_and_a_count_that_is_not_one_is_refused(clean_env):
    clean_env.setenv(scale_out.EXECUTOR_VARIABLE, "celery")
    clean_env.setenv(scale_out.CATEGORIES_PER_RUN_VARIABLE, "0")
    assert scale_out.categories_per_run() is None
    clean_env.delenv(scale_out.CATEGORIES_PER_RUN_VARIABLE)
    for variable, read in ((scale_out.CATEGORIES_PER_RUN_VARIABLE, scale_out.categories_per_run),
                           (scale_out.MAX_WORKERS_VARIABLE, scale_out.step_max_workers)):
        for wrong in ("many", "1.5", "-1"):
            clean_env.setenv(variable, wrong)
            with pytest.raises(ValueError, match=variable):
                read()
        clean_env.delenv(variable)


CODE = (
    "import json, dagster as dg; from tsplatform.definitions import defs; d = defs(); "
    "job = d.resolve_job_def('category_forecast_job'); "
    "policy = d.resolve_assets_def(dg.AssetKey('forecast_data')).backfill_policy; "
    "print(json.dumps([job.executor_def.name, policy.max_partitions_per_run, "
    "d.resolve_job_def('invoice_ingest_job').executor_def.name]))"
)


@pytest.mark.parametrize("variables, expected", [
    ({}, ["multiprocess", None, "multiprocess"]),
    ({"TSPLATFORM_EXECUTOR": "celery", "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN": "5"}, ["celery", 5, "multiprocess"]),
])
def test_the_code_location_picks_the_forecast_executor_from_the_environment(variables, expected):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    output = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True, env={**env, **variables})
    assert json.loads(output.stdout.strip().splitlines()[-1]) == expected
