"""The accounting check ``upload_counts_add_up``: it reconciles a batch with its stored file and with
invoice_data, so it fails when they disagree, blocks (fails the step), and passes on every real
file shape the reader accepts."""

from pathlib import Path

import dagster as dg
import pytest

from tsplatform.definitions import defs
from tsplatform.defs.invoices.assets import COUNTS_ADD_UP_CHECK, INVOICE_DATA
from tsplatform.defs.invoices.partitions import upload_batches
from tsplatform.ingest.landing import copy_into_landing
from tsplatform.ingest.options import UploadOptions
from tsplatform.ingest.reconciliation import count_file_records, reconcile_upload
from tsplatform.ingest.registration import look_at_landing
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land


def register(data_paths, warehouse, instance) -> str:
    [batch] = look_at_landing(data_paths, warehouse).waiting_batches
    instance.add_dynamic_partitions(upload_batches.name, [batch])
    return batch


def run_batch(instance, batch, run_config=None):
    job = defs().resolve_job_def("invoice_ingest_job")
    return job.execute_in_process(instance=instance, partition_key=batch, run_config=run_config, raise_on_error=False)


def accounting_evaluation(result) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and event.event_specific_data.check_name == COUNTS_ADD_UP_CHECK
    ]
    return evaluation


def stored_file(warehouse, batch) -> Path:
    with warehouse.transaction() as session:
        return Path(upload_table.get_upload(session, batch)["stored_filename"])


def test_the_accounting_check_is_blocking_on_invoice_data():
    [spec] = [s for s in defs().resolve_assets_def(INVOICE_DATA).check_specs if s.name == COUNTS_ADD_UP_CHECK]
    assert spec.asset_key == INVOICE_DATA and spec.blocking


def test_a_stored_file_that_gains_a_line_after_registration_fails_the_step(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,2"))
    batch = register(data_paths, warehouse, instance)
    with open(stored_file(warehouse, batch), "a", encoding="utf-8") as handle:
        handle.write("2024-01-03,p1,A,3\n")

    result = run_batch(instance, batch)

    assert not result.success and result.is_node_failed("ingest_invoice_batch")
    evaluation = accounting_evaluation(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["file_hash_matches"].value is False
    # a blocking check's failure is not retried by the step's retry policy: one attempt only
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert restarts == []
    # a second run of the batch (a retry, a re-request) reconciles again instead of passing blindly
    again = run_batch(instance, batch)
    assert not again.success and not accounting_evaluation(again).passed


def test_the_check_function_fails_on_a_mismatch_with_the_file_or_the_table(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,", "2024-01-03,p1,A,x"))
    batch = register(data_paths, warehouse, instance)
    assert run_batch(instance, batch).success
    accounting = reconcile_upload(warehouse, batch)
    assert accounting.passed, accounting.problems
    assert (accounting.num_file_records, accounting.num_total_rows, accounting.num_written_rows) == (3, 3, 2)
    assert accounting.num_rows_held == 2

    with warehouse.transaction() as session:  # the table lost a row of the batch to nobody
        session.execute(
            "UPDATE invoice_data SET batch_num = 'nobody' WHERE batch_num = ? AND date = DATE '2024-01-02'", (batch,)
        )
    held = reconcile_upload(warehouse, batch)
    assert not held.passed and held.num_rows_held == 1
    assert any("invoice_data holds 1 rows of this batch; it wrote 2" in p for p in held.problems)

    with warehouse.transaction() as session:  # the batch's own figures do not add up
        session.execute("UPDATE upload_metadata SET num_unchanged_rows = 1 WHERE batch_num = ?", (batch,))
    assert any("unchanged = 4" in p for p in reconcile_upload(warehouse, batch).problems)

    path = stored_file(warehouse, batch)
    path.write_bytes(path.read_bytes() + b"2024-01-04,p1,A,4\n")  # the stored copy gained a record
    problems = reconcile_upload(warehouse, batch).problems
    assert any("has 4 data records, the batch counted 3" in p for p in problems)
    assert any("SHA-256" in p for p in problems)


SHAPES = {
    "quoted values with a line break and a delimiter": (
        'Date,product_id,category,sales\n2024-01-01,"p1",A,1\n2024-01-02,"p\n2",A,2\n2024-01-03,p3,"A,B",3\n',
        UploadOptions(),
    ),
    "CRLF, blank and whitespace lines, a ragged line": (
        "Date,product_id,category,sales\r\n\r\n2024-01-01,p1,A,1\r\n   \r\n2024-01-02,p1,A,2,extra\r\n2024-01-03,p1,A,3\r\n",
        UploadOptions(),
    ),
    "blank lines before the header, BOM (utf-8-sig), no final newline": (
        "\n\nDate,product_id,category,sales\n2024-01-01,p1,A,1\n2024-01-02,p1,A,2",
        UploadOptions(),
    ),
    "cp1252 with semicolons": (
        "Date;product_id;category;sales\n2024-01-01;caf\u00e9;Kaffee;1\n2024-01-02;caf\u00e9;Kaffee;2\n",
        UploadOptions(encoding="cp1252", delimiter=";"),
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_real_file_shapes_pass_the_check(shape, data_paths, warehouse, instance):
    text, options = SHAPES[shape]
    source = data_paths.root / "export.csv"
    source.write_bytes(text.encode(options.encoding))
    copy_into_landing(source, data_paths.landing, options)
    batch = register(data_paths, warehouse, instance)
    result = run_batch(instance, batch)
    evaluation = accounting_evaluation(result)
    assert result.success and evaluation.passed, evaluation.description


def test_reprocessing_a_completed_batch_still_adds_up(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,2"))
    batch = register(data_paths, warehouse, instance)
    assert run_batch(instance, batch).success
    again = run_batch(instance, batch, {"ops": {"ingest_invoice_batch": {"config": {"reprocess_completed": True}}}})
    assert again.success and accounting_evaluation(again).passed


def test_count_file_records_counts_records_not_lines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('\n h,e,a,d \n1,"two\nlines",3,4\n\n5,6,7,8\n,,,\n', encoding="utf-8")
    assert count_file_records(path, "utf-8", ",") == 3
