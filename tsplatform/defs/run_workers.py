"""Runs whose worker process died (SIGKILL, a killed daemon, code server or container).

Dagster's run monitoring cannot check the health of a run launched by the default run launcher,
so such a run stays STARTED for ever and keeps its ``warehouse_writer`` pool slot. A run's worker
is known by its process id: the one Dagster's run worker reports when it starts ("Started process
for run (pid: N)", on the code server's machine, where the sensors run too), or, for a run that
``tsplatform ingest`` executes in its own process, the one it tags the run with (``worker_tags``). The sensors that
follow runs (landing, sensor stream) and ``tsplatform ingest`` ask ``fail_if_worker_gone`` about an
unfinished run, which marks a dead one failed and frees its slot, so the usual "run failed: ask
again" path takes over.
"""

import os
import socket

import dagster as dg

PID_TAG = "tsplatform/worker_pid"
HOST_TAG = "tsplatform/worker_host"


def worker_tags() -> dict[str, str]:
    """Tags for a run executed in this process, so others can tell whether it is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def fail_if_worker_gone(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: str) -> bool:
    """Mark ``run`` failed (and free its pool slots) if it is unfinished and its worker on this host
    no longer exists. True if it did."""
    if run.status != dg.DagsterRunStatus.STARTED or not _worker_gone(instance, run):
        return False
    instance.report_run_failed(run, reason)
    # its warehouse_writer pool slot would otherwise stay claimed and block every later writer
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return True


def _worker_gone(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    pid = _run_worker_pid(instance, run.run_id) if _launched_here(instance) else None
    host = socket.gethostname()
    if pid is None:  # executed in-process by `tsplatform ingest`, or not started yet: the tags, if any
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
    if pid is None or host != socket.gethostname():
        return False  # not ours to judge (another machine, or not started yet): run monitoring's job
    return not _alive(int(pid))


def _launched_here(instance: dg.DagsterInstance) -> bool:
    """The default launcher starts run workers beside the code server that evaluates our sensors;
    other launchers (Kubernetes, Celery, Docker) put them elsewhere and can be monitored by Dagster."""
    from dagster._core.launcher import DefaultRunLauncher

    return isinstance(instance.run_launcher, DefaultRunLauncher)


def _run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> str | None:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        entry = record.event_log_entry
        if entry.message.startswith("Started process for run"):
            pid = entry.dagster_event.engine_event_data.metadata.get("pid")
            return getattr(pid, "value", None)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
