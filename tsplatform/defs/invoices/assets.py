"""The invoice batch: one partition per upload, written to three tables in one transaction.

Checks on invoice_data: ``rows_pass_invoice_schema`` (WARN: rows breaking a rule are quarantined) and
``upload_counts_add_up`` (blocking: the batch reconciled with its stored file and with the table, see
``tsplatform.ingest.reconciliation``); a batch that does not add up fails its step.
"""

import warnings

import dagster as dg
from dagster_pandera import pandera_schema_to_dagster_type
from pydantic import Field

from tsplatform.defs.invoices.partitions import upload_batches
from tsplatform.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource
from tsplatform.defs.table_metadata import table_asset_spec
from tsplatform.ingest.processing import BatchFailedError, BatchOutcome, process_batch
from tsplatform.ingest.reconciliation import UploadAccounting, reconcile_upload
from tsplatform.ingest.timings import stage
from tsplatform.ingest.validation import invoice_row_schema
from tsplatform.warehouse import Warehouse, catalog

INVOICE_DATA = dg.AssetKey("invoice_data")
REJECTED_ROWS = dg.AssetKey("rejected_rows")
UPLOAD_METADATA = dg.AssetKey("upload_metadata")
ROWS_PASS_SCHEMA_CHECK = "rows_pass_invoice_schema"
COUNTS_ADD_UP_CHECK = "upload_counts_add_up"

INVOICE_COLUMN_DESCRIPTIONS = {
    "sales": "Sales of the day; repeated invoice lines summed",
    "is_imputed": "Sales were missing and filled (forward fill per product, then 0)",
    "batch_num": "Batch that last changed the row",
    "file_hash": "SHA-256 of that batch's file",
    "created_at": "UTC",
    "updated_at": "UTC",
    "version": "1 when inserted, +1 on each change",
}
DOMAIN = "invoices"


class InvoiceBatchConfig(dg.Config):
    reprocess_completed: bool = Field(
        default=False,
        description="Apply the batch again even if it completed before (the upsert is idempotent).",
    )


@dg.multi_asset(
    name="ingest_invoice_batch",
    specs=[
        table_asset_spec(
            INVOICE_DATA, "invoice_data", DOMAIN, kinds={"pandas", "pandera"}, descriptions=INVOICE_COLUMN_DESCRIPTIONS,
            group_name="invoices",
            description="Validated, imputed sales per (date, product_id, category), versioned.",
        ),
        table_asset_spec(
            REJECTED_ROWS, "rejected_rows", DOMAIN, group_name="invoices",
            description="Quarantined upload rows: batch, line number in the file, raw values, reason.",
        ),
        table_asset_spec(
            UPLOAD_METADATA, "upload_metadata", DOMAIN, group_name="invoices",
            description="One row per upload: file, hash, status, counts, error log, column mapping.",
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
            asset=INVOICE_DATA,
            description="The upload is accounted for: the stored file is the registered one (SHA-256) and its "
            "data records (as Python's csv module reads them) are num_total_rows = rejected + duplicate-key + "
            "inserted + updated + unchanged; invoice_data holds the rows the batch inserted or updated. "
            "Blocking: a batch that does not add up fails its run and does not feed daily_category_sales.",
            blocking=True,
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
        yield from _skipped_results(context, warehouse.open(), outcome)
        return
    yield from _completed_results(context, warehouse.open(), outcome, applied_again=config.reprocess_completed)


def _completed_results(
    context: dg.AssetExecutionContext, warehouse: Warehouse, outcome: BatchOutcome, applied_again: bool
):
    prepared = outcome.prepared
    assert prepared is not None, "a completed batch was prepared"
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
    table_rows = _table_row_counts(warehouse)
    yield dg.MaterializeResult(
        asset_key=INVOICE_DATA,
        metadata={
            **common,
            **{k: dg.MetadataValue.int(v) for k, v in counts.items()},
            "dagster/row_count": table_rows["invoice_data"],
            "batch_row_count": dg.MetadataValue.int(len(prepared.rows)),
            # seconds per stage of process_batch (read, validate, impute, merge, write)
            "stage_seconds": dg.MetadataValue.json(outcome.timings),
            "preview": dg.MetadataValue.md(prepared.rows.head(10).to_markdown(index=False)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=REJECTED_ROWS,
        metadata={
            **common,
            "dagster/row_count": table_rows["rejected_rows"],
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
        metadata={
            **common,
            "dagster/row_count": table_rows["upload_metadata"],
            "status": upload.get("status"),
            "file_hash": upload.get("file_hash"),
        },
    )
    yield _schema_check_result(outcome)
    with stage("accounting"):
        accounting = reconcile_upload(warehouse, outcome.batch_num, applied_again)
    yield _counts_check_result(context, accounting)


def _table_row_counts(warehouse: Warehouse) -> dict[str, int]:
    """The tables' sizes after the write (``dagster/row_count`` is the table's, not the batch's)."""
    with warehouse.transaction() as session:
        return {table: catalog.row_count(session, table) for table in ("invoice_data", "rejected_rows", "upload_metadata")}


def _schema_check_result(outcome: BatchOutcome) -> dg.AssetCheckResult:
    assert outcome.prepared is not None, "a completed batch was prepared"
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
        schema = pandera_schema_to_dagster_type(invoice_row_schema(date_format)).metadata["schema"]
    assert isinstance(schema, dg.TableSchemaMetadataValue), "dagster-pandera describes a frame as a table schema"
    return schema


def _counts_check_result(context: dg.AssetExecutionContext, accounting: UploadAccounting) -> dg.AssetCheckResult:
    """ERROR and blocking: a batch whose figures disagree with its file or the table fails its step."""
    for problem in accounting.problems:
        context.log.error(f"batch {accounting.batch_num} is not accounted for: {problem}")
    return dg.AssetCheckResult(
        asset_key=INVOICE_DATA,
        check_name=COUNTS_ADD_UP_CHECK,
        passed=accounting.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(accounting.problems) or "the upload is accounted for",
        metadata={
            **{name: value for name, value in accounting.figures().items() if value is not None},
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in accounting.problems) or "none"),
        },
    )


def _skipped_results(context: dg.AssetExecutionContext, warehouse: Warehouse, outcome: BatchOutcome):
    """A batch already applied: report it without touching the tables (materialisations unchanged);
    a completed batch is still reconciled, so a re-run cannot turn a failed check into a pass."""
    for key in (INVOICE_DATA, REJECTED_ROWS, UPLOAD_METADATA):
        yield dg.MaterializeResult(asset_key=key, metadata={"batch_num": outcome.batch_num, "skipped": outcome.message})
    yield dg.AssetCheckResult(asset_key=INVOICE_DATA, check_name=ROWS_PASS_SCHEMA_CHECK, passed=True, metadata={"skipped": outcome.message})
    if outcome.upload.get("status") == "duplicate":  # nothing written: the content is another batch's
        yield dg.AssetCheckResult(
            asset_key=INVOICE_DATA, check_name=COUNTS_ADD_UP_CHECK, passed=True, metadata={"skipped": outcome.message}
        )
        return
    yield _counts_check_result(context, reconcile_upload(warehouse, outcome.batch_num, applied_again=True))
