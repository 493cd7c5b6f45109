"""Run the landing sensor's work now, in this process, recorded in the Dagster instance.

``tsplatform ingest`` uses this: the same landing logic as the sensor, the same job and assets, the
same run keys, so the daemon never launches a batch the CLI already ran (or the reverse).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import dagster as dg

from tsplatform.defs.dagster_tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from tsplatform.defs.invoices.partitions import UPLOAD_BATCHES
from tsplatform.defs.invoices.recovery import interrupted_batches
from tsplatform.defs.invoices.sensors import LANDING_SENSOR_NAME
from tsplatform.defs.run_heartbeat import Heartbeat, worker_tags
from tsplatform.ingest.landing import wait_until_settled
from tsplatform.ingest.registration import LandingTick, look_at_landing
from tsplatform.settings import DataPaths
from tsplatform.warehouse import Warehouse


@dataclass
class IngestReport:
    tick: LandingTick
    run_ids: dict[str, str]  # batch -> run id
    resumed: list[str] = field(default_factory=list)  # batches whose earlier run died mid-way


def ingest_landing_now(
    instance: dg.DagsterInstance, definitions: dg.Definitions, paths: DataPaths, warehouse: Warehouse, wait_seconds: float = 600
) -> IngestReport:
    wait_until_settled(paths.ensure().landing)
    tick = look_at_landing(paths, warehouse)
    if tick.waiting_batches:
        instance.add_dynamic_partitions(UPLOAD_BATCHES, tick.waiting_batches)
    job = definitions.resolve_job_def("invoice_ingest_job")
    cli_tags = {"tsplatform/launched_by": "cli"}
    run_ids: dict[str, str] = {}
    resumed = [batch for batch, _ in interrupted_batches(instance, warehouse)]
    for batch in resumed:  # a killed run left the batch half-way: its transaction never committed
        run_ids[batch] = _execute_beating(job, instance, batch, {**cli_tags, "tsplatform/resumed": "true"})
    for batch in tick.waiting_batches:
        if batch in run_ids:
            continue  # its earlier run died before starting it: just run again above
        existing = _run_for_key(instance, batch)
        if existing is not None:  # the daemon got there first: wait for its run instead
            run_ids[batch] = _wait_for(instance, existing.run_id, wait_seconds)
            continue
        run_ids[batch] = _execute_beating(
            job, instance, batch, {RUN_KEY_TAG: batch, SENSOR_NAME_TAG: LANDING_SENSOR_NAME, **cli_tags}
        )
    return IngestReport(tick, run_ids, resumed)


def _execute_beating(job: dg.JobDefinition, instance: dg.DagsterInstance, batch: str, tags: dict[str, str]) -> str:
    """Run the batch in this process, beating like a launched run (``execute_in_process`` replaces
    the job's executor, heartbeat included), so a killed CLI's run is seen as dead. Its run id."""
    run_id = str(uuid.uuid4())
    with Heartbeat(instance, run_id, beat_on_entry=False):
        job.execute_in_process(
            instance=instance, partition_key=batch, run_id=run_id, tags={**tags, **worker_tags()}, raise_on_error=False
        )
    return run_id


def _run_for_key(instance: dg.DagsterInstance, run_key: str):
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: LANDING_SENSOR_NAME}), limit=1
    )
    return runs[0] if runs else None


def _wait_for(instance: dg.DagsterInstance, run_id: str, wait_seconds: float) -> str:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            break
        time.sleep(0.5)
    return run_id
