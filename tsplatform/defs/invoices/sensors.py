"""The landing sensor: new files in ``data/landing`` become batches, partitions and runs."""


import dagster as dg

from tsplatform.defs.invoices.jobs import invoice_ingest_job
from tsplatform.defs.invoices.partitions import upload_batches
from tsplatform.defs.resources import DataFolderResource, WarehouseResource
from tsplatform.ingest.registration import register_landed_files
from tsplatform.warehouse import uploads as upload_table

LANDING_SENSOR_INTERVAL_SECONDS = 10


@dg.sensor(
    name="landing_sensor",
    job=invoice_ingest_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers files dropped in data/landing (SHA-256 de-duplication) and requests one run per batch.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, data_folder: DataFolderResource
) -> dg.SensorResult:
    store = warehouse.open()
    for registration in register_landed_files(data_folder.paths(), store):
        log = context.log.warning if registration.status != "uploaded" else context.log.info
        log(registration.describe())
    # Every batch still waiting gets a request; the run key (= batch id) makes repeats no-ops, and a
    # batch registered by a tick that died before its request is picked up here.
    with store.transaction() as session:
        waiting = upload_table.batches_waiting(session)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=batch, partition_key=batch) for batch in waiting],
        dynamic_partitions_requests=[upload_batches.build_add_request(waiting)] if waiting else [],
    )
