"""The invoice path through real Dagster runs: landing -> sensor logic -> job -> DuckDB tables."""

import dagster as dg
import pandas as pd

from tsplatform.definitions import defs
from tsplatform.ingest.landing import copy_into_landing
from tsplatform.ingest.options import UploadOptions, parse_column_mapping
from tsplatform.local_runs import ingest_landing_now
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land

COUNT_COLUMNS = [
    "num_total_rows", "num_rejected_rows", "num_missing_rows", "num_imputed_rows", "num_duplicate_key_rows",
    "num_inserted_rows", "num_updated_rows", "num_unchanged_rows",
]


def ingest(instance, data_paths, warehouse):
    report = ingest_landing_now(instance, defs(), data_paths, warehouse)
    return report, {batch: instance.get_run_by_id(run_id) for batch, run_id in report.run_ids.items()}


def tables(warehouse):
    with warehouse.transaction() as session:
        return (
            upload_table.list_uploads(session).set_index("batch_num"),
            invoice_table.read_invoices(session),
            invoice_table.read_rejected_rows(session),
        )


def counts(upload_row):
    return dict(zip(COUNT_COLUMNS, (int(upload_row[c]) for c in COUNT_COLUMNS)))


def test_a_messy_upload_lands_validated_imputed_merged_and_accounted(data_paths, warehouse, instance):
    land(
        data_paths,
        "jan.csv",
        csv_text(
            "2024-01-01,p1,A,10",
            "2024-01-02,p1,A,",        # missing: forward-filled from 10
            "2024-01-03,p1,A,abc",     # rejected
            "2024-01-01,p2,A,",        # missing, nothing earlier: 0
            "2024-01-03,p1,A,4",
            "2024-01-03,p1,A,1",       # same key: summed with the line above
            "2024-02-30,p2,A,3",       # rejected
        ),
    )
    report, runs = ingest(instance, data_paths, warehouse)
    [batch] = report.tick.waiting_batches
    assert runs[batch].status == dg.DagsterRunStatus.SUCCESS
    uploads, invoices, rejected = tables(warehouse)
    assert uploads.loc[batch, "status"] == "completed"
    assert counts(uploads.loc[batch]) == {
        "num_total_rows": 7, "num_rejected_rows": 2, "num_missing_rows": 2, "num_imputed_rows": 2,
        "num_duplicate_key_rows": 1, "num_inserted_rows": 4, "num_updated_rows": 0, "num_unchanged_rows": 0,
    }
    values = invoices.set_index(["product_id", invoices["date"].dt.strftime("%m-%d")])
    assert values.loc[("p1", "01-02"), ["sales", "is_imputed"]].tolist() == [10.0, True]
    assert values.loc[("p2", "01-01"), ["sales", "is_imputed"]].tolist() == [0.0, True]
    assert values.loc[("p1", "01-03"), "sales"] == 5.0
    assert set(invoices["version"]) == {1} and set(invoices["batch_num"]) == {batch}
    assert rejected["line_number"].tolist() == [4, 8]
    assert "not a number" in rejected.iloc[0]["reason"] and "date format" in rejected.iloc[1]["reason"]

    # the run recorded materialisations with the counts, and both checks
    event = instance.get_latest_materialization_event(dg.AssetKey("invoice_data"))
    assert event.asset_materialization.partition == batch
    assert event.asset_materialization.metadata["num_inserted_rows"].value == 4
    evaluations = [
        record.dagster_event.event_specific_data
        for record in instance.all_logs(runs[batch].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    checks = {evaluation.check_name: evaluation.passed for evaluation in evaluations}
    assert checks == {"rows_pass_invoice_schema": False, "upload_counts_add_up": True}


def test_reuploading_the_same_file_changes_nothing(data_paths, warehouse, instance):
    content = csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,2")
    land(data_paths, "a.csv", content)
    ingest(instance, data_paths, warehouse)
    _, before, _ = tables(warehouse)
    land(data_paths, "a.csv", content)
    report, runs = ingest(instance, data_paths, warehouse)
    assert runs == {}
    [registration] = report.tick.registrations
    assert registration.status == "duplicate"
    uploads, after, _ = tables(warehouse)
    pd.testing.assert_frame_equal(before, after)
    assert (uploads["status"] == "duplicate").sum() == 1


def test_a_corrected_file_bumps_versions_only_where_values_changed(data_paths, warehouse, instance):
    land(data_paths, "v1.csv", csv_text("2024-01-01,p1,A,1", "2024-01-01,p2,A,2", "2024-01-01,p3,A,3"))
    ingest(instance, data_paths, warehouse)
    land(data_paths, "v2.csv", csv_text("2024-01-01,p1,A,1", "2024-01-01,p2,A,20", "2024-01-01,p4,A,4"))
    report, _ = ingest(instance, data_paths, warehouse)
    [second] = report.tick.waiting_batches
    uploads, invoices, _ = tables(warehouse)
    assert counts(uploads.loc[second])["num_inserted_rows"] == 1
    assert counts(uploads.loc[second])["num_updated_rows"] == 1
    assert counts(uploads.loc[second])["num_unchanged_rows"] == 1
    versions = invoices.set_index("product_id")
    assert versions["version"].to_dict() == {"p1": 1, "p2": 2, "p3": 1, "p4": 1}
    assert versions.loc["p2", "batch_num"] == second and versions.loc["p2", "sales"] == 20.0
    assert versions.loc["p1", "batch_num"] != second


def test_a_failed_batch_leaves_tables_untouched_and_keeps_the_file(data_paths, warehouse, instance):
    land(data_paths, "good.csv", csv_text("2024-01-01,p1,A,1"))
    ingest(instance, data_paths, warehouse)
    _, before, _ = tables(warehouse)
    bad = "Date,product_id,sales\n2024-01-01,p1,5\n"
    land(data_paths, "bad.csv", bad)
    report, runs = ingest(instance, data_paths, warehouse)
    [batch] = report.tick.waiting_batches
    assert runs[batch].status == dg.DagsterRunStatus.FAILURE
    uploads, after, rejected = tables(warehouse)
    assert uploads.loc[batch, "status"] == "failed"
    assert "required column(s) missing: category" in uploads.loc[batch, "error_log"]
    pd.testing.assert_frame_equal(before, after)
    assert rejected.empty
    stored = [p for p in data_paths.uploads.iterdir() if batch in p.name]
    assert [p.read_text() for p in stored] == [bad]


def test_a_mapped_export_with_another_date_format(data_paths, warehouse, instance):
    source = data_paths.root / "export.csv"
    source.write_text("Order Date,Product ID,Category,Sales,Region\n01/31/2024,p1,Toys,3,EU\n02/01/2024,p1,Toys,,EU\n")
    mapping = parse_column_mapping("Order Date=Date,Product ID=product_id,Category=category,Sales=sales")
    copy_into_landing(source, data_paths.landing, UploadOptions(mapping, "%m/%d/%Y"))
    report, _ = ingest(instance, data_paths, warehouse)
    [batch] = report.tick.waiting_batches
    uploads, invoices, _ = tables(warehouse)
    assert uploads.loc[batch, "status"] == "completed"
    assert uploads.loc[batch, "date_format"] == "%m/%d/%Y"
    assert "Order Date" in uploads.loc[batch, "column_mapping"]
    assert "Region" in uploads.loc[batch, "extra_columns"]
    assert invoices["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-31", "2024-02-01"]
    assert invoices["sales"].tolist() == [3.0, 3.0]


def test_imputation_continues_from_the_invoice_table(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", csv_text("2024-01-30,p1,A,7"))
    ingest(instance, data_paths, warehouse)
    land(data_paths, "feb.csv", csv_text("2024-02-01,p1,A,", "2024-02-02,p1,A,"))
    ingest(instance, data_paths, warehouse)
    _, invoices, _ = tables(warehouse)
    assert invoices.sort_values("date")["sales"].tolist() == [7.0, 7.0, 7.0]


def test_running_a_completed_batch_again_is_a_no_op(data_paths, warehouse, instance):
    land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
    report, _ = ingest(instance, data_paths, warehouse)
    [batch] = report.tick.waiting_batches
    uploads_before, invoices_before, _ = tables(warehouse)
    job = defs().resolve_job_def("invoice_ingest_job")
    assert job.execute_in_process(instance=instance, partition_key=batch).success
    uploads_after, invoices_after, _ = tables(warehouse)
    pd.testing.assert_frame_equal(invoices_before, invoices_after)
    assert counts(uploads_after.loc[batch]) == counts(uploads_before.loc[batch])


def test_invoice_data_reports_the_table_row_count_not_the_batch(data_paths, warehouse, instance):
    land(data_paths, "v1.csv", csv_text("2024-01-01,p1,A,1", "2024-01-01,p2,A,2"))
    ingest(instance, data_paths, warehouse)
    land(data_paths, "v2.csv", csv_text("2024-01-01,p2,A,20", "2024-01-02,p3,A,3"))
    report, runs = ingest(instance, data_paths, warehouse)
    [second] = report.tick.waiting_batches
    assert runs[second].status == dg.DagsterRunStatus.SUCCESS
    with warehouse.transaction() as session:
        [(in_table,)] = session.fetch_all("SELECT count(*) FROM invoice_data")
    metadata = instance.get_latest_materialization_event(dg.AssetKey("invoice_data")).asset_materialization.metadata
    assert in_table == 3
    assert metadata["dagster/row_count"].value == in_table
    assert metadata["batch_row_count"].value == 2  # the batch's figures stay, under their own names
    assert (metadata["num_inserted_rows"].value, metadata["num_updated_rows"].value) == (1, 1)
