"""Batches whose runs all ended without completing them: killed mid-way (SIGKILL, a killed daemon
or container, a crashed CLI; ``run_workers`` marks such a run failed), killed while waiting for the
writer pool, or failed before the batch was claimed. Here the Dagster side: the runs of each open
batch's partition, a dead worker's run marked failed first; the rule is ``tsplatform.ingest.recovery``.

This re-request is the only layer that re-runs a batch run: Dagster's run retries are off for the
ingest job (``dagster/max_retries`` 0 on the job), so the two never both re-run one dead batch."""

import dagster as dg

from tsplatform.defs.dagster_tags import PARTITION_NAME_TAG
from tsplatform.defs.run_workers import fail_if_worker_gone
from tsplatform.ingest.recovery import run_owed
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import uploads as upload_table


def interrupted_batches(instance: dg.DagsterInstance, warehouse: Warehouse, log=None) -> list[tuple[str, str]]:
    """(batch, newest run id) for open batches (uploaded or processing) that had runs, none of which
    is still going."""
    with warehouse.transaction() as session:
        waiting = upload_table.batches_waiting(session)
        processing = dict(upload_table.batches_processing(session))
    stale = []
    for batch in waiting + list(processing):
        runs = _runs_of(instance, batch)
        if [run for run in runs if fail_if_worker_gone(instance, run, "the process running this batch was killed")]:
            runs = _runs_of(instance, batch)
        claimed_by = str(processing[batch]) if batch in processing else None
        owed = run_owed(batch, [(run.run_id, run.is_finished) for run in runs], claimed_by, log)
        if owed is not None:
            stale.append((batch, owed))
    return stale


def _runs_of(instance: dg.DagsterInstance, batch: str) -> list[dg.DagsterRun]:
    """Every run of the batch's partition, newest first (sensor, CLI and UI runs alike)."""
    return list(instance.get_runs(dg.RunsFilter(tags={PARTITION_NAME_TAG: batch})))
