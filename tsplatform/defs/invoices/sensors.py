"""The landing sensor: new files in ``data/landing`` become batches, partitions and runs."""

from collections.abc import Sequence

import dagster as dg

from tsplatform.defs.invoices.jobs import invoice_ingest_job
from tsplatform.defs.invoices.partitions import upload_batches
from tsplatform.defs.invoices.recovery import interrupted_batches
from tsplatform.defs.resources import DataFolderResource, WarehouseResource
from tsplatform.ingest.registration import LandingTick, look_at_landing

LANDING_SENSOR_NAME = "landing_sensor"
LANDING_SENSOR_INTERVAL_SECONDS = 10


def run_requests_for(tick: LandingTick, interrupted: Sequence[tuple[str, str | None]] = ()) -> dg.SensorResult:
    """Every batch still waiting gets a request; the run key (= batch id) makes repeats no-ops,
    and a batch registered by a tick that died before its request is picked up again. A batch
    whose runs all ended without completing it gets one more run, keyed by the newest of them so
    it is asked for once."""
    waiting = tick.waiting_batches
    requests = [dg.RunRequest(run_key=batch, partition_key=batch) for batch in waiting]
    requests += [
        dg.RunRequest(run_key=f"{batch}#after-{run_id}", partition_key=batch, tags={"tsplatform/resumes_run": str(run_id)})
        for batch, run_id in interrupted
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[upload_batches.build_add_request(waiting)] if waiting else [],
    )


@dg.sensor(
    name=LANDING_SENSOR_NAME,
    job=invoice_ingest_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers files dropped in data/landing (SHA-256 de-duplication) and requests one run per batch.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, data_folder: DataFolderResource
) -> dg.SensorResult:
    store = warehouse.open()
    tick = look_at_landing(data_folder.paths(), store)
    for registration in tick.registrations:
        log = context.log.info if registration.status == "uploaded" else context.log.warning
        log(registration.describe())
    interrupted = interrupted_batches(context.instance, store, log=context.log.error)
    for batch, run_id in interrupted:
        context.log.warning(f"batch {batch}: run {run_id} ended without completing it; requesting a new run")
    return run_requests_for(tick, interrupted)
