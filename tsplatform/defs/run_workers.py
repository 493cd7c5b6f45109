"""Runs whose worker process died (SIGKILL, a killed daemon, code server or container).

Dagster's run monitoring cannot check the workers of the default run launcher, so such a run stays
STARTED for ever and keeps any ``warehouse_writer`` pool slot it holds. Every run this project
executes beats (``run_heartbeat``): its tags name the worker's pid and host and the time of its
last beat. The sensors that follow runs (landing, sensor stream) and ``tsplatform ingest`` ask
``fail_if_worker_gone`` about an unfinished run; a dead one is reported failed and its pool slots
freed, so the usual "run failed: ask again" path takes over. ``run_worker_sensor`` does the same
for every other STARTED run (forecasts, automation), so none holds the writer pool for ever.
"""

import os
import socket
import time

import dagster as dg

from tsplatform.defs.run_heartbeat import HEARTBEAT_SECONDS, HEARTBEAT_TAG, HOST_TAG, PID_TAG

STALE_AFTER_SECONDS = 12 * HEARTBEAT_SECONDS  # a minute without a beat: the worker is gone


def worker_gone(tags: dict[str, str], now: float, this_host: str, never_beat_since: float | None = None) -> bool:
    """Whether the worker named by a run's heartbeat tags is gone: its process no longer exists on
    this host, or (any host) it has not beaten for ``STALE_AFTER_SECONDS``. A run that never beat
    is gone only if ``never_beat_since`` (its start, for runs known to beat: killed between its
    start and its first beat) is that old; otherwise it is not judged."""
    pid, host, beat = tags.get(PID_TAG), tags.get(HOST_TAG), tags.get(HEARTBEAT_TAG)
    if pid is None:
        return never_beat_since is not None and now - never_beat_since > STALE_AFTER_SECONDS
    if host == this_host and pid.isdigit() and not _alive(int(pid)):
        return True
    try:
        return now - float(beat) > STALE_AFTER_SECONDS  # type: ignore[arg-type]  # None falls to the except
    except (TypeError, ValueError):  # no beat recorded (tagged by an older version): the pid alone
        return False


def fail_if_worker_gone(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: str, beats: bool = True) -> bool:
    """Report ``run`` failed (and free its pool slots) if it is still STARTED and its worker is
    gone. ``beats``: the run's job beats (the ingest jobs), so one that never beat a minute after
    it started is dead too. True if it did."""
    if run.status != dg.DagsterRunStatus.STARTED:
        return False
    record = instance.get_run_record_by_id(run.run_id)  # fresh status and beat: it may have ended meanwhile
    if record is None or record.dagster_run.status != dg.DagsterRunStatus.STARTED:
        return False
    run = record.dagster_run
    if not worker_gone(dict(run.tags), time.time(), socket.gethostname(), record.start_time if beats else None):
        return False
    instance.report_run_failed(run, f"{reason} (worker {run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)} is gone)")
    # its warehouse_writer slot (claimed or waited for) would otherwise block every later writer
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RUN_WORKER_SENSOR_INTERVAL_SECONDS = 30


@dg.sensor(
    name="run_worker_sensor",
    minimum_interval_seconds=RUN_WORKER_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reports failed every STARTED run whose worker process is gone (its heartbeat), freeing its pool slots.",
)
def run_worker_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    started = context.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    failed = [  # any job: one that never beat may be executed by something that does not beat
        run.run_id for run in started
        if fail_if_worker_gone(context.instance, run, "the process running this run was killed", beats=False)
    ]
    for run_id in failed:
        context.log.warning(f"run {run_id}: its worker is gone; reported failed and its pool slots freed")
    return dg.SkipReason(f"{len(started)} started run(s), {len(failed)} with a dead worker reported failed")
