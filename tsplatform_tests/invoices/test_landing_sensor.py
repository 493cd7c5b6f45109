"""The landing sensor evaluated for real: registration, de-duplication, partitions and run requests."""

import os

import dagster as dg

from tsplatform.definitions import defs
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
    ever. The next tick marks the run failed and asks for one more run, keyed by the dead one."""
    import subprocess
    import sys

    from dagster._core.storage.tags import PARTITION_NAME_TAG, RUN_KEY_TAG

    from tsplatform.defs.run_workers import HOST_TAG, PID_TAG, worker_tags

    land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
    [request] = evaluate_sensor(instance).run_requests
    instance.add_dynamic_partitions("upload_batches", [request.partition_key])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = instance.create_run_for_job(
        defs().resolve_job_def("invoice_ingest_job"), status=dg.DagsterRunStatus.STARTED,
        tags={RUN_KEY_TAG: request.run_key, PARTITION_NAME_TAG: request.partition_key,
              PID_TAG: str(dead.pid), HOST_TAG: worker_tags()[HOST_TAG]},
    )

    requests = evaluate_sensor(instance).run_requests
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert {r.run_key for r in requests} == {request.run_key, f"{request.partition_key}#after-{killed.run_id}"}
    assert {r.partition_key for r in requests} == {request.partition_key}
    assert metadata(warehouse).loc[request.partition_key, "status"] == "uploaded"
