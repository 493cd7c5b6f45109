"""The run heartbeat and the rule that reads it: a real Dagster instance, real processes."""

import socket
import subprocess
import sys
import time

import dagster as dg

from tsplatform.defs.run_heartbeat import HEARTBEAT_TAG, HOST_TAG, PID_TAG, Heartbeat, worker_tags
from tsplatform.defs.run_workers import STALE_AFTER_SECONDS, worker_gone


@dg.op
def nothing():
    pass


@dg.job
def nothing_job():
    nothing()


def beat_of(instance, run_id: str) -> float:
    return float(instance.get_run_by_id(run_id).tags[HEARTBEAT_TAG])


def test_a_heartbeat_refreshes_the_run_tags_until_it_stops(instance):
    run = instance.create_run_for_job(nothing_job, status=dg.DagsterRunStatus.STARTED)
    with Heartbeat(instance, run.run_id, every=0.2):
        first = beat_of(instance, run.run_id)
        time.sleep(1.6)  # the tag holds whole seconds
        later = beat_of(instance, run.run_id)
    assert later > first
    assert instance.get_run_by_id(run.run_id).tags[PID_TAG] == worker_tags()[PID_TAG]
    time.sleep(1.6)
    assert beat_of(instance, run.run_id) == later  # stopped with the block


def test_a_worker_is_gone_when_its_process_is_or_its_heartbeat_is_stale():
    here, now = socket.gethostname(), time.time()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    fresh, stale = f"{now - 2:.0f}", f"{now - STALE_AFTER_SECONDS - 5:.0f}"
    alive_here = worker_tags()
    assert not worker_gone(alive_here, now, here)
    assert worker_gone({**alive_here, PID_TAG: str(dead.pid)}, now, here)
    assert not worker_gone({PID_TAG: "4242", HOST_TAG: "elsewhere", HEARTBEAT_TAG: fresh}, now, here)
    assert worker_gone({PID_TAG: "4242", HOST_TAG: "elsewhere", HEARTBEAT_TAG: stale}, now, here)
    assert worker_gone({**alive_here, HEARTBEAT_TAG: stale}, now, here)  # its pid reused by another process
    assert not worker_gone({}, now, here)  # never beat: not executing yet, not ours to judge
    assert not worker_gone({}, now, here, never_beat_since=now - 5)  # started, first beat to come
    assert worker_gone({}, now, here, never_beat_since=now - STALE_AFTER_SECONDS - 5)  # killed before it


def test_the_run_worker_sensor_fails_any_started_run_whose_worker_is_gone(instance):
    """Not only ingest runs: a forecast or automation run killed with its worker would hold the
    writer pool for ever; the sweep reports it failed and leaves a live one alone."""
    from tsplatform.definitions import defs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = instance.create_run_for_job(
        nothing_job, status=dg.DagsterRunStatus.STARTED, tags={**worker_tags(), PID_TAG: str(dead.pid)}
    )
    alive = instance.create_run_for_job(nothing_job, status=dg.DagsterRunStatus.STARTED, tags=worker_tags())
    sensor = defs().resolve_sensor_def("run_worker_sensor")
    with dg.build_sensor_context(instance=instance) as context:
        sensor(context)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
