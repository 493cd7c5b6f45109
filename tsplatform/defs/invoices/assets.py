"""The invoice batch: one partition per upload, written to three tables in one transaction."""

import warnings


import dagster as dg
from dagster_pandera import pandera_schema_to_dagster_type
from pydantic import Field

from tsplatform.defs.invoices.partitions import upload_batches
from tsplatform.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource
from tsplatform.ingest.processing import BatchFailedError, BatchOutcome, process_batch
from tsplatform.ingest.validation import invoice_row_schema

INVOICE_DATA = dg.AssetKey("invoice_data")
REJECTED_ROWS = dg.AssetKey("rejected_rows")
UPLOAD_METADATA = dg.AssetKey("upload_metadata")
ROWS_PASS_SCHEMA_CHECK = "rows_pass_invoice_schema"
COUNTS_ADD_UP_CHECK = "upload_counts_add_up"

INVOICE_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("date", "DATE", "Invoice day (primary key)"),
        dg.TableColumn("product_id", "VARCHAR", "Product (primary key)"),
        dg.TableColumn("category", "VARCHAR", "Category (primary key)"),
        dg.TableColumn("sales", "DOUBLE", "Sales of the day; repeated invoice lines summed"),
        dg.TableColumn("is_imputed", "BOOLEAN", "Sales were missing and filled (forward fill per product, then 0)"),
        dg.TableColumn("batch_num", "VARCHAR", "Batch that last changed the row"),
        dg.TableColumn("file_hash", "VARCHAR", "SHA-256 of that batch's file"),
        dg.TableColumn("created_at", "TIMESTAMP", "UTC"),
        dg.TableColumn("updated_at", "TIMESTAMP", "UTC"),
        dg.TableColumn("version", "INTEGER", "1 when inserted, +1 on each change"),
    ]
)


class InvoiceBatchConfig(dg.Config):
    reprocess_completed: bool = Field(
        default=False,
        description="Apply the batch again even if it completed before (the upsert is idempotent).",
    )


@dg.multi_asset(
    name="ingest_invoice_batch",
    specs=[
        dg.AssetSpec(
            INVOICE_DATA,
            description="Validated, imputed sales per (date, product_id, category), versioned.",
            group_name="invoices",
            kinds={"pandas", "pandera"},
            metadata={"dagster/column_schema": INVOICE_COLUMNS, "dagster/table_name": "invoice_data"},
        ),
        dg.AssetSpec(
            REJECTED_ROWS,
            description="Quarantined upload rows: batch, line number in the file, raw values, reason.",
            group_name="invoices",
            metadata={"dagster/table_name": "rejected_rows"},
        ),
        dg.AssetSpec(
            UPLOAD_METADATA,
            description="One row per upload: file, hash, status, counts, error log, column mapping.",
            group_name="invoices",
            metadata={"dagster/table_name": "upload_metadata"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            ROWS_PASS_SCHEMA_CHECK,
            asset=INVOICE_DATA,
            description=invoice_row_schema().description + " Rows that fail are quarantined in rejected_rows.",
        ),
        dg.AssetCheckSpec(
            COUNTS_ADD_UP_CHECK,
            asset=UPLOAD_METADATA,
            description="total = rejected + duplicate-key + inserted + updated + unchanged; missing = imputed.",
        ),
    ],
    partitions_def=upload_batches,
    pool=WAREHOUSE_WRITER_POOL,
    # transient errors (a dropped database connection) are retried; a bad file raises Failure without retries
    retry_policy=dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL),
)
def ingest_invoice_batch(context: dg.AssetExecutionContext, config: InvoiceBatchConfig, warehouse: WarehouseResource):
    """Validate, impute and upsert one uploaded file (the partition is its batch id)."""
    batch_num = context.partition_key
    try:
        outcome = process_batch(
            warehouse.open(), batch_num, context.run_id, reprocess=config.reprocess_completed, log=context.log.info
        )
    except BatchFailedError as failure:
        context.log.error(f"batch {batch_num} failed: {failure}")
        raise dg.Failure(description=f"batch {batch_num} failed: {failure}", allow_retries=False) from failure

    if outcome.status == "skipped":
        context.log.info(outcome.message)
        yield from _skipped_results(outcome)
        return
    yield from _completed_results(context, outcome)


def _completed_results(context: dg.AssetExecutionContext, outcome: BatchOutcome):
    prepared = outcome.prepared
    counts = outcome.counts
    upload = outcome.upload
    context.log.info(
        f"batch {outcome.batch_num}: {counts['num_total_rows']} rows, {counts['num_rejected_rows']} rejected, "
        f"{counts['num_imputed_rows']} imputed, {counts['num_duplicate_key_rows']} merged duplicates, "
        f"{counts['num_inserted_rows']} inserted, {counts['num_updated_rows']} updated, "
        f"{counts['num_unchanged_rows']} unchanged"
    )
    for note in prepared.notes:
        context.log.info(note)
    common = {"batch_num": outcome.batch_num, "original_filename": upload.get("original_filename")}
    yield dg.MaterializeResult(
        asset_key=INVOICE_DATA,
        metadata={
            **common,
            **{k: dg.MetadataValue.int(v) for k, v in counts.items()},
            "dagster/row_count": len(prepared.rows),
            "preview": dg.MetadataValue.md(prepared.rows.head(10).to_markdown(index=False)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=REJECTED_ROWS,
        metadata={
            **common,
            "num_rejected_rows": len(prepared.rejected),
            "preview": dg.MetadataValue.md(
                prepared.rejected[["line_number", "reason"]].head(20).to_markdown(index=False)
                if len(prepared.rejected)
                else "no rejected rows"
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=UPLOAD_METADATA,
        metadata={**common, "status": upload.get("status"), "file_hash": upload.get("file_hash")},
    )
    yield _schema_check_result(outcome)
    yield _counts_check_result(counts)


def _schema_check_result(outcome: BatchOutcome) -> dg.AssetCheckResult:
    rejected = outcome.prepared.rejected
    reasons = rejected["reason"].value_counts().head(20) if len(rejected) else None
    rules = _rules_table_schema(outcome.upload.get("date_format") or "%Y-%m-%d")
    return dg.AssetCheckResult(
        asset_key=INVOICE_DATA,
        check_name=ROWS_PASS_SCHEMA_CHECK,
        passed=len(rejected) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "num_rejected_rows": len(rejected),
            "rules": rules,
            "failing_rows": dg.MetadataValue.md(
                rejected[["line_number", "raw_date", "raw_product_id", "raw_category", "raw_sales", "reason"]]
                .head(20)
                .to_markdown(index=False)
                if len(rejected)
                else "none"
            ),
            "reasons": dg.MetadataValue.md(reasons.to_frame("rows").to_markdown() if reasons is not None else "none"),
        },
    )


def _rules_table_schema(date_format: str) -> dg.TableSchemaMetadataValue:
    """The pandera rules as a Dagster table schema (dagster-pandera's conversion, beta: warning muted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return pandera_schema_to_dagster_type(invoice_row_schema(date_format)).metadata["schema"]


def _counts_check_result(counts: dict[str, int]) -> dg.AssetCheckResult:
    accounted = sum(
        counts[k]
        for k in ("num_rejected_rows", "num_duplicate_key_rows", "num_inserted_rows", "num_updated_rows", "num_unchanged_rows")
    )
    return dg.AssetCheckResult(
        asset_key=UPLOAD_METADATA,
        check_name=COUNTS_ADD_UP_CHECK,
        passed=accounted == counts["num_total_rows"] and counts["num_missing_rows"] == counts["num_imputed_rows"],
        metadata={"num_total_rows": counts["num_total_rows"], "accounted_rows": accounted},
    )


def _skipped_results(outcome: BatchOutcome):
    """A batch already applied: report it without touching the tables (materialisations unchanged)."""
    for key in (INVOICE_DATA, REJECTED_ROWS, UPLOAD_METADATA):
        yield dg.MaterializeResult(asset_key=key, metadata={"batch_num": outcome.batch_num, "skipped": outcome.message})
    yield dg.AssetCheckResult(asset_key=INVOICE_DATA, check_name=ROWS_PASS_SCHEMA_CHECK, passed=True, metadata={"skipped": outcome.message})
    yield dg.AssetCheckResult(asset_key=UPLOAD_METADATA, check_name=COUNTS_ADD_UP_CHECK, passed=True, metadata={"skipped": outcome.message})
