"""Jobs of the invoice path."""

import dagster as dg

from tsplatform.defs.dagster_tags import MAX_RETRIES_TAG
from tsplatform.defs.invoices.assets import ingest_invoice_batch
from tsplatform.defs.invoices.partitions import upload_batches

invoice_ingest_job = dg.define_asset_job(
    "invoice_ingest_job",
    selection=dg.AssetSelection.assets(ingest_invoice_batch),
    partitions_def=upload_batches,
    description="Validate, impute and upsert one upload batch (partition = batch id).",
    tags={MAX_RETRIES_TAG: "0"},  # a batch whose run failed or died is asked for again by the landing sensor
)
