"""Process one registered batch against the warehouse: prepare it, then write it in one transaction.

The Dagster asset is a thin shell around ``process_batch``. The data tables change only in the
final transaction, which also re-checks the batch status under the database lock, so two runs of
the same batch cannot both apply it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsplatform.ingest.batch import PreparedBatch, prepare_batch
from tsplatform.ingest.options import InvalidOptionsError, read_sidecar
from tsplatform.ingest.reading import UnreadableUploadError
from tsplatform.ingest.timings import StageTimes, add_stage, recording, stage
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform.warehouse.errors import is_transient


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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: read, validate, impute, merge, write


def process_batch(
    warehouse: Warehouse,
    batch_num: str,
    run_id: str | None = None,
    reprocess: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> BatchOutcome:
    times = StageTimes()
    with recording(times):
        outcome = _process_batch(warehouse, batch_num, run_id, reprocess, log)
    outcome.timings = times.as_dict()
    return outcome


def _process_batch(
    warehouse: Warehouse, batch_num: str, run_id: str | None, reprocess: bool, log: Callable[[str], None]
) -> BatchOutcome:
    with stage("write"), warehouse.transaction() as session:
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

    with stage("write"), warehouse.transaction() as session:
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
    except Exception as problem:
        # the last-known lookup reads the database: a lost connection is worth the retry policy;
        # anything else (a bug) fails the same way again, so the batch fails now, accounted
        if is_transient(problem):
            _fail_if_reachable(warehouse, batch_num, f"reading stored sales failed (a transient error): {problem!r}")
            raise
        reason = f"internal error while preparing the batch: {problem!r}"
        _fail(warehouse, batch_num, reason)
        raise BatchFailedError(reason) from problem

    try:
        log(f"writing {len(prepared.rows)} rows and {len(prepared.rejected)} rejected rows of {batch_num} in one transaction")
        counts = _apply(warehouse, upload, prepared, reprocess, run_id)
    except _AlreadyCompletedError as done:
        return BatchOutcome(batch_num, "skipped", upload=upload, message=str(done))
    except Exception as problem:
        # a lost connection or a lock not granted may pass: re-raised for the step's retry policy;
        # anything else (a constraint, a type error) fails the same way again: the batch fails now
        reason = f"writing the batch failed and was rolled back: {type(problem).__name__}: {problem}"
        if is_transient(problem):
            _fail_if_reachable(warehouse, batch_num, f"{reason} (a transient error)")
            raise
        _fail(warehouse, batch_num, reason)
        raise BatchFailedError(reason) from problem
    with stage("write"), warehouse.transaction() as session:
        upload = upload_table.get_upload(session, batch_num) or upload
    return BatchOutcome(batch_num, "completed", counts=counts, prepared=prepared, upload=upload)


class _AlreadyCompletedError(Exception):
    pass


def _apply(warehouse: Warehouse, upload: dict, prepared: PreparedBatch, reprocess: bool, run_id: str | None) -> dict[str, int]:
    batch_num = upload["batch_num"]
    started = time.perf_counter()
    merging = 0.0
    with warehouse.transaction() as session:
        if upload_table.claim_for_processing(session, batch_num, run_id, reprocess) == "completed":
            raise _AlreadyCompletedError(f"{batch_num} was completed by another run meanwhile")
        with stage("merge"):  # compare with the table and upsert (a first load: the bulk append)
            merge_started = time.perf_counter()
            upserted = invoice_table.upsert_invoices(
                session, prepared.rows, batch_num, upload["file_hash"], uploaded_at=upload["uploaded_at"]
            )
            merging = time.perf_counter() - merge_started
        if upserted.kept_newer:
            prepared.notes.append(f"{upserted.kept_newer} rows kept the value of a newer upload (counted unchanged)")
        invoice_table.insert_rejected_rows(session, prepared.rejected, batch_num)
        counts = {**prepared.counts(), **upserted.as_metadata_counts()}
        upload_table.mark_completed(
            session,
            batch_num,
            counts,
            extra_columns=json.dumps(prepared.extra_columns, ensure_ascii=False) if prepared.extra_columns else None,
            notes="; ".join(prepared.notes) or None,
        )
    # the rest of the transaction: quarantine, accounting row, commit (DuckDB: the checkpoint)
    add_stage("write", time.perf_counter() - started - merging)
    return counts


def _last_known(warehouse: Warehouse, wanted: pd.DataFrame) -> pd.DataFrame:
    with warehouse.transaction() as session:
        return invoice_table.last_known_sales(session, wanted)


def _fail(warehouse: Warehouse, batch_num: str, reason: str) -> None:
    with warehouse.transaction() as session:
        upload_table.mark_failed(session, batch_num, reason)


def _fail_if_reachable(warehouse: Warehouse, batch_num: str, reason: str) -> None:
    """``_fail`` when the database answers; when it does not, the batch stays 'processing' and the
    error being handled is the one worth raising (a retry claims the batch again either way)."""
    try:
        _fail(warehouse, batch_num, reason)
    except Exception:
        pass
