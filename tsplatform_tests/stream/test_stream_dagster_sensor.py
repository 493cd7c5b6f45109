"""``sensor_stream_sensor`` evaluated for real against real segment files and real runs: cursor
resume across restarts, torn lines, failed runs, re-executions, cursor resets — nothing lost,
nothing stored twice."""

import json

import dagster as dg
import pandas as pd

from tsplatform.defs.dagster_tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from tsplatform.stream import Cursor, JsonlSegmentSource, ReadingGenerator
from tsplatform.stream.range_planning import (
    MAX_PENDING_RANGES,
    SensorState,
    plan_ranges,
    range_key,
)

from .dagster_helpers import (
    assert_stored_exactly,
    launch,
    stored_readings,
    tick,
    tick_and_run,
    write,
)

LINE = b'{"sensor_id":"sensor_1","ts":"2024-01-05T00:00:00.000000Z","value":123.25}\n'


def stored_readings_from_env():
    from tsplatform.settings import warehouse_url
    from tsplatform.warehouse import open_warehouse

    return stored_readings(open_warehouse(warehouse_url()))


def range_of(request: dg.RunRequest) -> tuple[Cursor, Cursor]:
    config = request.run_config["ops"]["ingest_sensor_readings"]["config"]
    return Cursor.from_string(config["start"]), Cursor.from_string(config["end"])


def test_the_cursor_resumes_after_a_restart_and_a_torn_line_waits_until_complete(data_paths, instance):
    folder = data_paths.stream
    write(folder, ReadingGenerator(2, seed=1), "2024-01-01", 10)
    first = tick(instance)
    [request] = first.run_requests
    start, end = range_of(request)
    assert start == Cursor() and end == JsonlSegmentSource(folder).latest_cursor()
    assert request.run_key == range_key(start, end) == "sensor_stream:0@0..1@" + str(end.offset)
    state = SensorState.from_string(first.cursor)
    assert state.next == end and [p.run_key for p in state.pending] == [request.run_key]

    # the daemon stops; meanwhile a writer session adds a segment whose last line is half written
    write(folder, ReadingGenerator(2, seed=2), "2024-01-02", 5)
    segment = folder / "segment-00000002.jsonl"
    complete = segment.stat().st_size
    with open(segment, "ab") as handle:
        handle.write(LINE[:25])

    # restart: a new context from the stored cursor. The first range's run never appeared, so it
    # is asked for again under the same key; the new range stops before the torn line.
    restarted = tick(instance, first.cursor)
    again, new = restarted.run_requests
    assert again.run_key == request.run_key and again.run_config == request.run_config
    assert range_of(new) == (end, Cursor("segment-00000002.jsonl", complete))
    assert all(launch(instance, r).success for r in restarted.run_requests)

    nothing = tick(instance, restarted.cursor)
    assert nothing.run_requests == [] and SensorState.from_string(nothing.cursor).pending == []

    with open(segment, "ab") as handle:  # the writer finishes its line
        handle.write(LINE[25:])
    completed = tick(instance, nothing.cursor)
    [last] = completed.run_requests
    assert range_of(last) == (Cursor("segment-00000002.jsonl", complete), Cursor("segment-00000002.jsonl", complete + len(LINE)))
    assert launch(instance, last).success
    table = stored_readings_from_env()
    assert len(table) == 2 * 10 + 2 * 5 + 1 and not table.duplicated(["sensor_id", "ts"]).any()
    assert table.set_index(["sensor_id", "ts"]).loc[("sensor_1", pd.Timestamp("2024-01-05", tz="UTC")), "value"] == 123.25


def first_run_fails(folder, instance):
    """Readings written, the sensor's first request launched while its segment is away (so the
    run fails for real), the segment put back: (readings, first tick, its request, the failed run)."""
    written = write(folder, ReadingGenerator(3, seed=3), "2024-01-01", 40)
    first = tick(instance)
    [request] = first.run_requests
    segment = folder / "segment-00000001.jsonl"
    segment.rename(folder / "away")
    failed = launch(instance, request)
    (folder / "away").rename(segment)
    return written, first, request, failed


def test_a_failed_run_is_asked_for_again_and_its_range_stored_once(data_paths, warehouse, instance):
    written, first, request, failed = first_run_fails(data_paths.stream, instance)
    assert not failed.success and stored_readings(warehouse).empty

    retry_tick = tick(instance, first.cursor)
    [retry] = retry_tick.run_requests
    assert retry.run_key == request.run_key + "#retry1" and retry.run_config == request.run_config
    assert launch(instance, retry).success

    done = tick(instance, retry_tick.cursor)
    assert done.run_requests == [] and SensorState.from_string(done.cursor).pending == []
    assert_stored_exactly(warehouse, written)

    # re-executing the failed run later (as from the UI) stores nothing twice
    reexecuted = launch(instance, request)
    assert reexecuted.success
    materialization = reexecuted.asset_materializations_for_node("ingest_sensor_readings")[0]
    assert materialization.metadata["num_inserted"].value == 0
    assert materialization.metadata["num_already_stored"].value == len(written)
    assert_stored_exactly(warehouse, written)


def test_a_run_failing_after_storing_is_not_repeated_and_its_anomaly_scan_is_not_lost(data_paths, warehouse, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(1, seed=4, spike_probability=0.0)
    written = write(folder, generator, "2024-01-01", 120)
    first = tick(instance)
    [request] = first.run_requests
    # the ingest step stores the range, then the anomaly step fails (a bad window setting)
    result = launch(instance, request, {"sensor_anomalies": {"config": {"window": "not a window"}}})
    assert not result.success
    assert_stored_exactly(warehouse, written)

    after = tick(instance, first.cursor)
    assert after.run_requests == [] and SensorState.from_string(after.cursor).pending == []

    generator.spike("sensor_1", 80.0)
    more = write(folder, generator, "2024-01-01 02:00", 120)
    cursor, [run] = tick_and_run(instance, after.cursor)
    assert run.success
    assert_stored_exactly(warehouse, pd.concat([written, more]))
    scan = run.asset_materializations_for_node("sensor_anomalies")[0].metadata
    assert scan["ranges_scanned"].value == 2  # the range whose scan failed is scanned now


def test_a_failed_range_covered_by_a_manual_materialisation_is_not_retried(data_paths, warehouse, instance):
    folder = data_paths.stream
    written = write(folder, ReadingGenerator(2, seed=5), "2024-01-01", 30)
    first = tick(instance)
    [request] = first.run_requests
    (folder / "segment-00000001.jsonl").rename(folder / "away")
    assert not launch(instance, request).success
    (folder / "away").rename(folder / "segment-00000001.jsonl")
    # someone materialises sensor_readings by hand: empty config = the whole stream
    manual = dg.RunRequest(run_key="manual", run_config={"ops": {"ingest_sensor_readings": {"config": {}}}})
    assert launch(instance, manual).success

    after = tick(instance, first.cursor)  # the ledger covers the failed range: no retry
    assert after.run_requests == [] and SensorState.from_string(after.cursor).pending == []
    assert_stored_exactly(warehouse, written)


def test_a_reset_cursor_rereads_the_stream_and_stores_nothing_twice(data_paths, warehouse, instance):
    folder = data_paths.stream
    written = pd.concat([
        write(folder, ReadingGenerator(2, seed=6), "2024-01-01", 20),
        write(folder, ReadingGenerator(2, seed=7), "2024-01-02", 20),
    ])
    cursor, runs = tick_and_run(instance)
    assert [run.success for run in runs] == [True]
    _, again = tick_and_run(instance, None)  # an operator resets the sensor cursor
    [rerun] = again
    metadata = rerun.asset_materializations_for_node("ingest_sensor_readings")[0].metadata
    assert metadata["num_inserted"].value == 0 and metadata["num_already_stored"].value == len(written)
    assert_stored_exactly(warehouse, written)


def test_ranges_are_cut_at_segment_starts_and_new_ones_wait_while_too_many_are_unconfirmed(data_paths, instance):
    sizes = [(f"segment-0000000{n}.jsonl", 100) for n in range(1, 6)]
    latest = Cursor("segment-00000005.jsonl", 60)
    ranges = plan_ranges(Cursor("segment-00000001.jsonl", 40), latest, sizes, max_bytes=170)
    assert ranges == [
        (Cursor("segment-00000001.jsonl", 40), Cursor("segment-00000003.jsonl", 0)),
        (Cursor("segment-00000003.jsonl", 0), Cursor("segment-00000004.jsonl", 0)),
        (Cursor("segment-00000004.jsonl", 0), latest),
    ]
    assert plan_ranges(Cursor(), latest, sizes, max_bytes=10, max_ranges=2)[-1][1] == Cursor("segment-00000003.jsonl", 0)
    assert plan_ranges(latest, latest, sizes) == []

    folder = data_paths.stream
    cursor = None
    for day in range(MAX_PENDING_RANGES + 1):  # runs never launched: their ranges stay unconfirmed
        write(folder, ReadingGenerator(1, seed=day), f"2024-01-0{day + 1}", 3)
        result = tick(instance, cursor)
        cursor = result.cursor
    state = SensorState.from_string(cursor)
    assert len(state.pending) == MAX_PENDING_RANGES  # the fifth segment waits in the stream
    assert state.next == Cursor("segment-00000004.jsonl", (folder / "segment-00000004.jsonl").stat().st_size)
    assert json.loads(cursor)["next"]["segment"] == "segment-00000004.jsonl"


def test_a_run_whose_worker_was_killed_is_failed_and_its_range_asked_for_again(data_paths, warehouse, instance):
    """A SIGKILLed worker leaves its run STARTED for ever; the sensor sees the process its heartbeat
    names gone, marks the run failed and asks for the range again, which then stores it once."""
    import subprocess
    import sys

    from tsplatform.defs.run_heartbeat import PID_TAG, worker_tags

    from .dagster_helpers import SENSOR, definitions

    written = write(data_paths.stream, ReadingGenerator(3, seed=5), "2024-01-01", 30)
    first = tick(instance)
    [request] = first.run_requests
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = definitions().resolve_job_def("sensor_stream_ingest_job")
    killed = instance.create_run_for_job(
        job, run_config=request.run_config, status=dg.DagsterRunStatus.STARTED,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR, **worker_tags(), PID_TAG: str(dead.pid)},
    )

    retry_tick = tick(instance, first.cursor)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    [retry] = retry_tick.run_requests
    assert retry.run_key == request.run_key + "#retry1"
    assert launch(instance, retry).success
    assert_stored_exactly(warehouse, written)


def test_a_run_whose_worker_is_alive_is_waited_for(data_paths, instance):
    from tsplatform.defs.run_heartbeat import worker_tags

    from .dagster_helpers import SENSOR, definitions

    write(data_paths.stream, ReadingGenerator(3, seed=5), "2024-01-01", 30)
    first = tick(instance)
    [request] = first.run_requests
    running = definitions().resolve_job_def("sensor_stream_ingest_job")
    alive = instance.create_run_for_job(
        running, run_config=request.run_config, status=dg.DagsterRunStatus.STARTED,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR, **worker_tags()},
    )
    again = tick(instance, first.cursor)
    assert again.run_requests == []
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED


def test_a_launched_stream_run_records_its_worker_and_a_heartbeat(data_paths, warehouse, instance):
    """Run through the job's own executor (as the daemon's run worker runs it), the run tags itself
    with the process executing it and a fresh heartbeat: what tells the sensor it is alive."""
    import os
    import socket
    import time

    from tsplatform.defs.run_heartbeat import HEARTBEAT_TAG, HOST_TAG, PID_TAG

    from .dagster_helpers import SENSOR, stream_ingest_job

    written = write(data_paths.stream, ReadingGenerator(2, seed=8), "2024-01-01", 20)
    [request] = tick(instance).run_requests
    began = time.time()
    with dg.execute_job(
        dg.reconstructable(stream_ingest_job), instance, run_config=request.run_config,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR},
    ) as result:
        assert result.success
        run = instance.get_run_by_id(result.run_id)
    assert (run.tags[PID_TAG], run.tags[HOST_TAG]) == (str(os.getpid()), socket.gethostname())
    assert began - 1 <= float(run.tags[HEARTBEAT_TAG]) <= time.time() + 1
    assert_stored_exactly(warehouse, written)


def test_a_failed_range_is_asked_for_again_by_the_sensor_alone_where_run_retries_are_on(data_paths, warehouse, tmp_path):
    """With Dagster's run retries on (deploy/dagster.postgres.yaml), a failed stream run is not
    retried by Dagster as well: the sensor's re-request is the one layer, and it asks at once."""
    overrides = {"run_retries": {"enabled": True, "max_retries": 2}}
    (tmp_path / "retrying").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "retrying"), overrides=overrides) as instance:
        written, first, request, failed = first_run_fails(data_paths.stream, instance)
        assert not failed.success
        assert instance.get_run_by_id(failed.run_id).tags.get("dagster/will_retry") == "false"

        retry_tick = tick(instance, first.cursor)
        [retry] = retry_tick.run_requests
        assert retry.run_key == request.run_key + "#retry1"
        assert launch(instance, retry).success
        assert_stored_exactly(warehouse, written)
