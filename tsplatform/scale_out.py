"""How a forecast refresh is executed: on this machine (default) or spread over Celery workers.

Chosen by the environment of the code location (read when it loads; restart Dagster after a change),
never by a code edit:

- ``TSPLATFORM_EXECUTOR``: ``multiprocess`` (default: one run per refresh, the step fits every
  category in a process pool over all cores) or ``celery`` (``dagster_celery.celery_executor``: each
  run's forecast step is a Celery task that whichever ``dagster-celery worker`` is free executes).
- ``TSPLATFORM_CELERY_BROKER``: the broker URL (default ``pyamqp://guest@127.0.0.1:5672//``).
- ``TSPLATFORM_CELERY_QUEUE``: the queue the steps go to and the workers listen on (``-q``; default
  ``dagster``, the queue dagster-celery workers listen on without ``-q``).
- ``TSPLATFORM_FORECAST_CATEGORIES_PER_RUN``: at most this many categories per run; a refresh of more
  becomes several runs (and asset backfills use ``BackfillPolicy.multi_run`` of this size). Unset or
  0: one run per refresh, except in celery mode, where it defaults to 10 (one run would keep all
  but one worker idle).
- ``TSPLATFORM_FORECAST_MAX_WORKERS``: processes of the forecast step's pool when the run config's
  ``max_workers`` is 0. Unset: all cores (default mode), 1 for a step on a Celery worker (the
  parallelism comes from the workers and their ``--concurrency``).
"""

from __future__ import annotations

import os

import dagster as dg

from tsplatform.settings import number_setting

EXECUTOR_VARIABLE = "TSPLATFORM_EXECUTOR"
BROKER_VARIABLE = "TSPLATFORM_CELERY_BROKER"

QUEUE_VARIABLE = "TSPLATFORM_CELERY_QUEUE"
CATEGORIES_PER_RUN_VARIABLE = "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN"
MAX_WORKERS_VARIABLE = "TSPLATFORM_FORECAST_MAX_WORKERS"

MULTIPROCESS, CELERY = "multiprocess", "celery"
DEFAULT_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "rpc://"
DEFAULT_QUEUE = "dagster"  # dagster-celery's own default queue
CELERY_CATEGORIES_PER_RUN = 10


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def executor_mode() -> str:
    """``multiprocess`` (unset) or ``celery``."""
    mode = _text(EXECUTOR_VARIABLE).lower() or MULTIPROCESS
    if mode not in (MULTIPROCESS, CELERY):
        raise ValueError(f"{EXECUTOR_VARIABLE} must be {MULTIPROCESS} or {CELERY}, got {mode!r}")
    return mode


def celery_mode() -> bool:
    return executor_mode() == CELERY


def categories_per_run() -> int | None:
    """Most categories one forecast run covers; None: no limit (one run per refresh)."""
    value = number_setting(CATEGORIES_PER_RUN_VARIABLE, None, "categories")
    if value is None and celery_mode():
        return CELERY_CATEGORIES_PER_RUN
    return value or None


def step_max_workers(configured: int = 0) -> int:
    """Processes of the forecast step's pool: ``configured`` (run config) if set, else the
    environment, else 1 on a Celery worker (celery mode), else all cores (default mode, and
    ``tsplatform forecast``, which runs in its own process in either mode)."""
    if configured:
        return configured
    value = number_setting(MAX_WORKERS_VARIABLE, 0, "processes")
    if value:
        return value
    return 1 if celery_mode() and _in_celery_task() else (os.cpu_count() or 1)


def _in_celery_task() -> bool:
    """This step executes inside a Celery task (a ``dagster-celery`` worker)."""
    from celery import current_task

    return current_task is not None and bool(current_task) and current_task.request.id is not None


def celery_queue() -> str:
    return _text(QUEUE_VARIABLE) or DEFAULT_QUEUE


def celery_executor_config() -> dict:
    """The ``celery_executor`` config of celery mode (the workers get theirs from deploy/celery.yaml)."""
    return {
        "broker": _text(BROKER_VARIABLE) or DEFAULT_BROKER,
        "backend": DEFAULT_BACKEND,  # results come back over the broker (deploy/celery.yaml: the same)
        "config_source": {"task_default_queue": celery_queue()},
    }


def forecast_executor() -> dg.ExecutorDefinition | None:
    """The executor of ``category_forecast_job``: None in default mode (the code location's default,
    the multiprocess executor with a heartbeat), the Celery executor (with the heartbeat) in celery mode."""
    if not celery_mode():
        return None
    from dagster_celery import celery_executor

    from tsplatform.defs.run_heartbeat import with_heartbeat

    return with_heartbeat(celery_executor).configured(celery_executor_config(), name="celery")


def forecast_backfill_policy() -> dg.BackfillPolicy:
    """Single run (default); runs of ``categories_per_run()`` partitions when that is set."""
    per_run = categories_per_run()
    return dg.BackfillPolicy.multi_run(per_run) if per_run else dg.BackfillPolicy.single_run()
