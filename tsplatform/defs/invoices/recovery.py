"""Batches whose run died mid-way (SIGKILL, a crashed worker or CLI): found, their run marked
failed, their pool slot freed, so a new run can complete them. The batch's one transaction never
committed, so re-running it is safe."""

import os
import socket

import dagster as dg

from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import uploads as upload_table

PID_TAG = "tsplatform/worker_pid"
HOST_TAG = "tsplatform/worker_host"
_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def worker_tags() -> dict[str, str]:
    """Tags a run's worker adds to its own run, so others can tell whether it is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def interrupted_batches(instance: dg.DagsterInstance, warehouse: Warehouse) -> list[tuple[str, str | None]]:
    """(batch, dead run id) for batches left 'processing' by a run that is failed, canceled, or
    whose worker process on this host no longer exists (that run is marked failed here)."""
    with warehouse.transaction() as session:
        processing = upload_table.batches_processing(session)
    stale = []
    for batch, run_id in processing:
        run = instance.get_run_by_id(run_id) if run_id else None
        if run is None or run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            stale.append((batch, run_id))
        elif run.status not in _FINISHED and _worker_gone(run.tags):
            instance.report_run_failed(run, "the process running this batch was killed")
            # its warehouse_writer pool slot would otherwise stay claimed and block every later run
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            stale.append((batch, run_id))
    return stale


def _worker_gone(tags) -> bool:
    pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if pid is None or host != socket.gethostname():
        return False  # not ours to judge (another machine, or not started yet): run monitoring's job
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
