"""Process one registered batch against the warehouse: prepare it, then write it in one transaction.

The Dagster asset is a thin shell around ``process_batch``. The data tables change only in the
final transaction, which also re-checks the batch status under the database lock, so two runs of
the same batch cannot both apply it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import pandas as pd

from tsplatform.ingest.batch import PreparedBatch, prepare_batch
from tsplatform.ingest.options import InvalidOptionsError, read_sidecar
from tsplatform.ingest.reading import UnreadableUploadError
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table


class BatchFailedError(Exception):
    """The batch cannot be applied; ``upload_metadata`` says why and no data row was written."""


@dataclass
class BatchOutcome:
    batch_num: str
    status: str  # completed | skipped
    counts: dict[str, int] = field(default_factory=dict)
    prepared: PreparedBatch | None = None
    upload: dict = field(default_factory=dict)
    message: str = ""


def process_batch(
    warehouse: Warehouse,
    batch_num: str,
    run_id: str | None = None,
    reprocess: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> BatchOutcome:
    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, batch_num)
    if upload is None:
        raise BatchFailedError(f"batch {batch_num} is not registered in upload_metadata")
    if upload["status"] == "duplicate":
        return BatchOutcome(batch_num, "skipped", upload=upload, message=f"{batch_num} is a duplicate of {upload['duplicate_of']}")
    if upload["status"] == "completed" and not reprocess:
        return BatchOutcome(batch_num, "skipped", upload=upload, message=f"{batch_num} was already completed")
    if upload["status"] == "failed" and upload.get("finished_at") is None:
        # refused at registration (unsafe entry, size limit, bad options): nothing to process
        raise BatchFailedError(upload.get("error_log") or "the upload was refused at registration")

    with warehouse.transaction() as session:
        if upload_table.claim_for_processing(session, batch_num, run_id, reprocess) == "completed":
            return BatchOutcome(batch_num, "skipped", upload=upload, message=f"{batch_num} was completed by another run")

    stored = Path(upload["stored_filename"])
    try:
        options = read_sidecar(stored)
        prepared = prepare_batch(stored, options, last_known=lambda wanted: _last_known(warehouse, wanted))
    except (UnreadableUploadError, InvalidOptionsError, FileNotFoundError) as problem:
        reason = str(problem) if not isinstance(problem, FileNotFoundError) else f"the stored file is missing: {stored}"
        _fail(warehouse, batch_num, reason)
        raise BatchFailedError(reason) from problem
    except Exception as problem:  # an unexpected bug must still leave an accounted, failed batch
        _fail(warehouse, batch_num, f"internal error while preparing the batch: {problem!r}")
        raise

    try:
        log(f"writing {len(prepared.rows)} rows and {len(prepared.rejected)} rejected rows of {batch_num} in one transaction")
        counts = _apply(warehouse, batch_num, upload["file_hash"], prepared, reprocess, run_id)
    except _AlreadyCompletedError as done:
        return BatchOutcome(batch_num, "skipped", upload=upload, message=str(done))
    except Exception as problem:
        _fail(warehouse, batch_num, f"writing the batch failed and was rolled back: {problem!r}")
        raise
    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, batch_num) or upload
    return BatchOutcome(batch_num, "completed", counts=counts, prepared=prepared, upload=upload)


class _AlreadyCompletedError(Exception):
    pass


def _apply(
    warehouse: Warehouse, batch_num: str, file_hash: str, prepared: PreparedBatch, reprocess: bool, run_id: str | None
) -> dict[str, int]:
    with warehouse.transaction() as session:
        if upload_table.claim_for_processing(session, batch_num, run_id, reprocess) == "completed":
            raise _AlreadyCompletedError(f"{batch_num} was completed by another run meanwhile")
        upserted = invoice_table.upsert_invoices(session, prepared.rows, batch_num, file_hash)
        invoice_table.insert_rejected_rows(session, prepared.rejected, batch_num)
        counts = {**prepared.counts(), **upserted.as_metadata_counts()}
        upload_table.mark_completed(
            session,
            batch_num,
            counts,
            extra_columns=json.dumps(prepared.extra_columns, ensure_ascii=False) if prepared.extra_columns else None,
            notes="; ".join(prepared.notes) or None,
        )
    return counts


def _last_known(warehouse: Warehouse, wanted: pd.DataFrame) -> pd.Series:
    with warehouse.transaction() as session:
        return invoice_table.last_known_sales(session, wanted)


def _fail(warehouse: Warehouse, batch_num: str, reason: str) -> None:
    with warehouse.transaction() as session:
        upload_table.mark_failed(session, batch_num, reason)
