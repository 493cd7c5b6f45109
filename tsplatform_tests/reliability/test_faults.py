"""Faults: a run killed with SIGKILL mid-upsert, the PostgreSQL connection cut mid-run.
Nothing half-applied, and a retry ends where an uninterrupted run would have."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from tsplatform.sample_data import SalesSpec, generate_sales
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import open_warehouse
from tsplatform.warehouse import uploads as upload_table

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")


def big_upload(path: Path, products: int = 100, days: int = 900) -> Path:
    """~360k rows: an upsert that takes long enough to be interrupted."""
    generate_sales(SalesSpec(categories=4, products_per_category=products, days=days, messy_rows=10)).to_csv(path, index=False)
    return path


def environment(tmp_path: Path, warehouse_url: str) -> dict:
    return {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "dagster_home"),
            "TSPLATFORM_WAREHOUSE_URL": warehouse_url}


def snapshot(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with open_warehouse(url).transaction() as session:
        invoices = invoice_table.read_invoices(session).drop(columns=["created_at", "updated_at"])
        uploads = upload_table.list_uploads(session)
    return invoices.sort_values(["date", "product_id", "category"], ignore_index=True), uploads


def run_cli(env, *args, check=True):
    return subprocess.run([TSPLATFORM, *args], env=env, capture_output=True, text=True, timeout=600, check=check)


def ingest_in_its_transaction(env, *args) -> subprocess.Popen:
    """``tsplatform ingest`` started and followed until the batch is prepared and its one transaction begins."""
    victim = subprocess.Popen([TSPLATFORM, "ingest", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in victim.stdout:
        if "in one transaction" in line:
            break
    return victim


def sigkill_mid_upsert(env) -> None:
    """``tsplatform ingest`` killed with SIGKILL 0.3 s into its batch's transaction."""
    victim = ingest_in_its_transaction(env)
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)


@pytest.mark.slow
def test_sigkill_mid_upsert_leaves_the_table_as_before_and_ingest_completes_it(tmp_path):
    url = f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
    env = environment(tmp_path, url)
    run_cli(env, "upload", str(big_upload(tmp_path / "first.csv", days=400)))
    run_cli(env, "ingest")
    before, _ = snapshot(url)

    run_cli(env, "upload", str(big_upload(tmp_path / "second.csv")))
    sigkill_mid_upsert(env)

    after_kill, uploads = snapshot(url)
    print("status after SIGKILL:", uploads.set_index("original_filename").loc["second.csv", "status"])
    second = uploads[uploads["original_filename"] == "second.csv"].iloc[0]
    if second["status"] == "processing":  # killed before the commit: nothing of the batch is visible
        pd.testing.assert_frame_equal(after_kill, before)
    else:  # the commit won the race: the batch is whole
        assert second["status"] == "completed"

    resumed = run_cli(env, "ingest", "--format", "json")
    final, uploads = snapshot(url)
    assert set(uploads["status"]) == {"completed"}

    # the same two uploads in a fresh warehouse, uninterrupted
    clean = tmp_path / "clean"
    clean_env = environment(clean, f"duckdb:///{clean / 'data' / 'warehouse.duckdb'}")
    run_cli(clean_env, "upload", str(tmp_path / "first.csv"))
    run_cli(clean_env, "ingest")
    run_cli(clean_env, "upload", str(tmp_path / "second.csv"))
    run_cli(clean_env, "ingest")
    expected, _ = snapshot(clean_env["TSPLATFORM_WAREHOUSE_URL"])
    compare = ["date", "product_id", "category", "sales", "is_imputed", "version"]
    pd.testing.assert_frame_equal(final[compare], expected[compare])
    if second["status"] == "processing":
        assert "resumed batch" in resumed.stderr


@pytest.mark.slow
def test_postgres_connections_cut_mid_transaction_are_retried_by_policy_and_complete_exactly(tmp_path, postgres_schema_url):
    """What a server restart does to its clients, done to this run only: its connections are
    terminated while the batch's transaction is open. The step fails, is retried by its retry
    policy, and the retry completes the batch exactly once."""
    victim_url = f"{postgres_schema_url}&application_name=tsp_fault_victim"
    env = environment(tmp_path, victim_url)
    run_cli(env, "upload", str(big_upload(tmp_path / "sales.csv")))
    victim = ingest_in_its_transaction(env, "--format", "json")
    time.sleep(0.2)
    with psycopg.connect(postgres_schema_url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'tsp_fault_victim'"
        ).fetchone()[0]
    output, _ = victim.communicate(timeout=600)
    assert cut >= 1
    assert victim.returncode == 0, output[-3000:]
    assert "STEP_UP_FOR_RETRY" in output or "up for retry" in output.lower()

    invoices, uploads = snapshot(postgres_schema_url)
    [upload] = uploads.to_dict("records")
    assert upload["status"] == "completed"
    assert invoices.duplicated(["date", "product_id", "category"]).sum() == 0
    assert set(invoices["version"]) == {1}
    unique_rows = upload["num_total_rows"] - upload["num_rejected_rows"] - upload["num_duplicate_key_rows"]
    assert len(invoices) == upload["num_inserted_rows"] == unique_rows


@pytest.mark.slow
def test_the_landing_sensor_requests_a_new_run_for_a_batch_whose_run_was_killed(tmp_path, monkeypatch):
    """The daemon's path: the sensor sees the dead worker, marks its run failed, frees its pool
    slot and asks for one more run (keyed by the dead run), which completes the batch."""
    import dagster as dg

    from tsplatform.definitions import defs

    url = f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
    env = environment(tmp_path, url)
    for name, value in env.items():
        if name.startswith(("TSPLATFORM_", "DAGSTER_HOME")):
            monkeypatch.setenv(name, value)
    run_cli(env, "upload", str(big_upload(tmp_path / "sales.csv")))
    sigkill_mid_upsert(env)
    invoices, uploads = snapshot(url)
    [upload] = uploads.to_dict("records")
    if upload["status"] == "completed":
        pytest.skip("the commit won the race against SIGKILL")
    assert upload["status"] == "processing" and invoices.empty

    definitions = defs()
    with dg.DagsterInstance.get() as instance:
        with dg.build_sensor_context(instance=instance, resources=definitions.resources) as context:
            result = definitions.resolve_sensor_def("landing_sensor")(context)
        [request] = result.run_requests
        assert request.partition_key == upload["batch_num"]
        assert request.run_key == f"{upload['batch_num']}#after-{upload['run_id']}"
        assert instance.get_run_by_id(upload["run_id"]).status == dg.DagsterRunStatus.FAILURE
        job = definitions.resolve_job_def("invoice_ingest_job")
        assert job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags).success
    invoices, uploads = snapshot(url)
    done = uploads.iloc[0]
    assert done["status"] == "completed"
    assert len(invoices) == done["num_inserted_rows"] == done["num_total_rows"] - done["num_rejected_rows"] - done["num_duplicate_key_rows"]
