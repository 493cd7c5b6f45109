"""The landing sensor evaluated for real: registration, de-duplication, partitions and run requests."""

import os

import dagster as dg

from tsplatform.definitions import defs
from tsplatform.defs.dagster_tags import PARTITION_NAME_TAG, RUN_KEY_TAG
from tsplatform.ingest.landing import sha256_of
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land


def evaluate_sensor(instance):
    definitions = defs()
    sensor = definitions.resolve_sensor_def("landing_sensor")
    with dg.build_sensor_context(instance=instance, resources=definitions.resources) as context:
        return sensor(context)


def metadata(warehouse):
    with warehouse.transaction() as session:
        return upload_table.list_uploads(session).set_index("batch_num")


def test_a_new_file_is_hashed_moved_recorded_and_requested(data_paths, warehouse, instance):
    content = csv_text("2024-01-01,p1,A,1")
    land(data_paths, "sales jan.csv", content)
    result = evaluate_sensor(instance)

    [request] = result.run_requests
    batch = request.partition_key
    digest = sha256_of(next(data_paths.uploads.iterdir()))
    stem, seconds, prefix = batch.rsplit("_", 2)
    assert stem == "sales_jan" and seconds.isdigit() and prefix == digest[:6]
    assert request.run_key == batch
    assert result.dynamic_partitions_requests[0].partition_keys == [batch]
    assert list(data_paths.landing.iterdir()) == []
    [stored] = list(data_paths.uploads.iterdir())
    assert stored.read_text() == content and batch in stored.name
    row = metadata(warehouse).loc[batch]
    assert (row["status"], row["original_filename"], row["file_hash"]) == ("uploaded", "sales jan.csv", digest)


def test_files_still_being_written_are_left_alone(data_paths, instance):
    land(data_paths, ".hidden.csv", "x")
    land(data_paths, "upload.csv.tmp", "x")
    land(data_paths, "upload.csv.part", "x")
    land(data_paths, "fresh.csv", csv_text("2024-01-01,p1,A,1"), age_seconds=0)
    result = evaluate_sensor(instance)
    assert result.run_requests == []
    assert sorted(p.name for p in data_paths.landing.iterdir()) == [".hidden.csv", "fresh.csv", "upload.csv.part", "upload.csv.tmp"]


def test_an_identical_file_is_archived_as_a_duplicate_of_its_batch(data_paths, warehouse, instance):
    content = csv_text("2024-01-01,p1,A,1")
    land(data_paths, "a.csv", content)
    [first] = evaluate_sensor(instance).run_requests
    land(data_paths, "copy of a.csv", content)
    result = evaluate_sensor(instance)
    assert [r.partition_key for r in result.run_requests] == [first.partition_key]  # still owed, not a new one
    [archived] = list(data_paths.duplicates.iterdir())
    assert archived.read_text() == content
    table = metadata(warehouse)
    duplicate = table[table["status"] == "duplicate"].iloc[0]
    assert duplicate["duplicate_of"] == first.partition_key and duplicate["original_filename"] == "copy of a.csv"


def test_a_symlink_is_refused_not_followed(data_paths, warehouse, instance, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(csv_text("2024-01-01,p1,A,1"))
    os.symlink(outside, data_paths.landing / "link.csv")
    result = evaluate_sensor(instance)
    assert result.run_requests == []
    assert outside.read_text().startswith("Date")  # the target is untouched
    [kept] = list(data_paths.rejected_files.iterdir())
    assert kept.is_symlink()
    row = metadata(warehouse).iloc[0]
    assert row["status"] == "failed" and "symbolic link" in row["error_log"]


def test_upload_size_limit_is_enforced_with_a_clear_message(data_paths, warehouse, instance, monkeypatch):
    monkeypatch.setenv("TSPLATFORM_MAX_UPLOAD_BYTES", "10")
    land(data_paths, "big.csv", csv_text("2024-01-01,p1,A,1"))
    assert evaluate_sensor(instance).run_requests == []
    row = metadata(warehouse).iloc[0]
    assert row["status"] == "failed" and "over the upload limit" in row["error_log"]
    assert len(list(data_paths.uploads.iterdir())) == 1  # kept


def test_a_batch_whose_run_was_killed_before_starting_it_is_requested_again(data_paths, warehouse, instance):
    """Killed while waiting for the writer pool: the batch is still 'uploaded', its run STARTED for
    ever, its heartbeat naming a process that is gone. The next tick marks the run failed and asks
    for one more run, keyed by the dead one."""
    import subprocess
    import sys

    from tsplatform.defs.run_heartbeat import PID_TAG, worker_tags

    land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
    [request] = evaluate_sensor(instance).run_requests
    instance.add_dynamic_partitions("upload_batches", [request.partition_key])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = instance.create_run_for_job(
        defs().resolve_job_def("invoice_ingest_job"), status=dg.DagsterRunStatus.STARTED,
        tags={RUN_KEY_TAG: request.run_key, PARTITION_NAME_TAG: request.partition_key,
              **worker_tags(), PID_TAG: str(dead.pid)},
    )

    requests = evaluate_sensor(instance).run_requests
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert {r.run_key for r in requests} == {request.run_key, f"{request.partition_key}#after-{killed.run_id}"}
    assert {r.partition_key for r in requests} == {request.partition_key}
    assert metadata(warehouse).loc[request.partition_key, "status"] == "uploaded"


def dead_worker_run(instance, request, last_beat_seconds_ago: float, host: str = "another-host"):
    """A STARTED run of the batch as a run worker elsewhere leaves it: pid, host, last heartbeat."""
    import time

    from tsplatform.defs.run_heartbeat import HEARTBEAT_TAG, HOST_TAG, PID_TAG

    return instance.create_run_for_job(
        defs().resolve_job_def("invoice_ingest_job"), status=dg.DagsterRunStatus.STARTED,
        tags={RUN_KEY_TAG: request.run_key, PARTITION_NAME_TAG: request.partition_key, PID_TAG: "4242",
              HOST_TAG: host, HEARTBEAT_TAG: f"{time.time() - last_beat_seconds_ago:.0f}"},
    )


def test_a_batch_whose_worker_stopped_beating_is_failed_its_slot_freed_and_requested_again(
    data_paths, warehouse, instance
):
    """A worker on another machine (or whose pid was reused) cannot be looked up: a heartbeat older
    than the bound tells it is gone. Its run is failed, the writer slot it held freed, the batch
    asked for once more; a run whose worker still beats is left alone."""
    from tsplatform.defs.run_workers import STALE_AFTER_SECONDS

    land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
    [request] = evaluate_sensor(instance).run_requests
    instance.add_dynamic_partitions("upload_batches", [request.partition_key])
    beating = dead_worker_run(instance, request, last_beat_seconds_ago=2)
    assert [r.run_key for r in evaluate_sensor(instance).run_requests] == [request.run_key]
    assert instance.get_run_by_id(beating.run_id).status == dg.DagsterRunStatus.STARTED

    instance.report_run_canceled(beating)
    silent = dead_worker_run(instance, request, last_beat_seconds_ago=STALE_AFTER_SECONDS + 5)
    storage = instance.event_log_storage
    storage.set_concurrency_slots("warehouse_writer", 1)
    assert storage.claim_concurrency_slot("warehouse_writer", silent.run_id, "ingest_invoice_batch").is_claimed

    requests = evaluate_sensor(instance).run_requests
    assert instance.get_run_by_id(silent.run_id).status == dg.DagsterRunStatus.FAILURE
    assert storage.get_concurrency_info("warehouse_writer").claimed_slots == []
    assert f"{request.partition_key}#after-{silent.run_id}" in {r.run_key for r in requests}


def test_dagster_run_retries_leave_a_dead_batch_run_to_the_landing_sensor(data_paths, warehouse, tmp_path):
    """Where run retries are on (deploy/dagster.postgres.yaml), a batch run reported failed because
    its worker died is not retried by Dagster as well: the landing sensor's re-request is the one
    layer that runs the batch again."""
    import subprocess
    import sys

    from tsplatform.defs.run_heartbeat import PID_TAG, worker_tags

    overrides = {"run_retries": {"enabled": True, "max_retries": 2}}
    (tmp_path / "retrying").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "retrying"), overrides=overrides) as instance:
        land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
        [request] = evaluate_sensor(instance).run_requests
        instance.add_dynamic_partitions("upload_batches", [request.partition_key])
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        job = defs().resolve_job_def("invoice_ingest_job")
        killed = instance.create_run_for_job(  # tagged as the daemon creates it: the job's tags, then the request's
            job, status=dg.DagsterRunStatus.STARTED,
            tags={**job.run_tags, RUN_KEY_TAG: request.run_key, PARTITION_NAME_TAG: request.partition_key,
                  **worker_tags(), PID_TAG: str(dead.pid)},
        )
        requests = evaluate_sensor(instance).run_requests
        failed = instance.get_run_by_id(killed.run_id)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        assert failed.tags.get("dagster/will_retry") == "false"  # Dagster's run retries stand aside
        assert f"{request.partition_key}#after-{killed.run_id}" in {r.run_key for r in requests}
