"""The stream on a real NATS JetStream server (``TSPLATFORM_STREAM_URL=nats://…/STREAM``): exact
sequence ranges, acknowledged publishing, and the Dagster sensor and runs storing every message once
across sensor restarts, cursor resets and failed runs."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tsplatform.stream import ReadingGenerator
from tsplatform.stream.address import nats_stream, open_source
from tsplatform.stream.cursor import SequenceCursor
from tsplatform.stream.jetstream import (
    MULTI_LINE,
    JetStreamWriter,
    MissingMessagesError,
)
from tsplatform.stream.range_planning import SensorState, range_key

from .dagster_helpers import assert_stored_exactly, launch, stored_readings, tick
from .nats_helpers import checksum, stream_contents

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")


def publish(url: str, frame: pd.DataFrame) -> int:
    with JetStreamWriter(nats_stream(url)) as writer:
        return writer.append(frame)


def readings(seed: int, ticks: int, start="2024-01-01", sensors: int = 3) -> pd.DataFrame:
    frame = ReadingGenerator(sensors, seed=seed, spike_probability=0.0).simulate(start, ticks, "1min")
    return frame[["sensor_id", "ts", "value"]]


def test_a_sequence_range_reads_exactly_its_messages_every_time(shared_nats_stream_url, tmp_path):
    url = shared_nats_stream_url
    first = readings(1, 200)
    assert publish(url, first) == 600
    with JetStreamWriter(nats_stream(url)) as writer:
        stream = nats_stream(url)
        writer.publish([(stream.subject("x"), b"not json"), (stream.subject("y"), b'{"a":1}\n{"b":2}')])
        assert writer.append(first.head(3)) == 3  # a re-send: acknowledged, not stored again
        assert writer.counts.deduplicated == 3
    source = open_source(tmp_path, url)
    name = nats_stream(url).name
    assert source.latest_cursor() == SequenceCursor(name, 602)

    whole = source.read_range(source.earliest_cursor(), source.latest_cursor())
    pd.testing.assert_frame_equal(whole.records.assign(ts=lambda f: f["ts"].dt.tz_localize(None)),
                                  first.reset_index(drop=True), check_dtype=False, check_exact=True)
    assert whole.positions["offset"].tolist() == list(range(1, 601))
    assert set(whole.positions["segment"]) == {name}
    assert whole.rejects[["offset", "reason"]].values.tolist() == [[601, "bad JSON"], [602, MULTI_LINE]]

    middle = source.read_range(SequenceCursor(name, 100), SequenceCursor(name, 250))
    again = source.read_range(SequenceCursor(name, 100), SequenceCursor(name, 250))
    assert middle.positions["offset"].tolist() == list(range(101, 251)) == again.positions["offset"].tolist()
    pd.testing.assert_frame_equal(middle.records, again.records)
    limited = source.read_range(SequenceCursor(name, 100), SequenceCursor(name, 250), max_records=7)
    assert len(limited.records) == 7 and limited.end == SequenceCursor(name, 107)

    with pytest.raises(MissingMessagesError):
        source.read_range(SequenceCursor(name, 600), SequenceCursor(name, 700))  # past the end
    with pytest.raises(ValueError):
        source.parse_cursor(SequenceCursor("OTHER", 3).to_string())  # another stream's position


def test_the_sensor_and_runs_store_every_message_once_across_restarts_resets_and_failed_runs(
    shared_nats_stream_url, data_paths, warehouse, instance, monkeypatch
):
    url = shared_nats_stream_url
    name = nats_stream(url).name
    first = readings(2, 100)
    publish(url, first)

    started = tick(instance)
    [request] = started.run_requests
    assert request.run_key == f"sensor_stream:{name}:0..300" == range_key(SequenceCursor(name, 0), SequenceCursor(name, 300))
    assert SensorState.from_string(started.cursor).next == SequenceCursor(name, 300)

    # the run cannot reach the broker (same stream name, no server there): it fails for real
    monkeypatch.setenv("TSPLATFORM_STREAM_URL", f"nats://127.0.0.1:1/{name}")
    failed = launch(instance, request)
    monkeypatch.setenv("TSPLATFORM_STREAM_URL", url)
    assert not failed.success and stored_readings(warehouse).empty

    # more readings; the sensor restarts from its stored cursor: the failed range again, the new one
    second = readings(3, 50, start="2024-02-01")
    publish(url, second)
    restarted = tick(instance, started.cursor)
    retry, new = restarted.run_requests
    assert retry.run_key == request.run_key + "#retry1" and retry.run_config == request.run_config
    assert new.run_key == f"sensor_stream:{name}:300..450"
    assert all(launch(instance, r).success for r in restarted.run_requests)
    done = tick(instance, restarted.cursor)
    assert done.run_requests == [] and SensorState.from_string(done.cursor).pending == []
    assert_stored_exactly(warehouse, pd.concat([first, second]))

    # the failed run re-executed later, and the sensor's cursor lost (reset): nothing twice
    reexecuted = launch(instance, request)
    assert reexecuted.success
    metadata = reexecuted.asset_materializations_for_node("ingest_sensor_readings")[0].metadata
    assert metadata["num_inserted"].value == 0 and metadata["num_already_stored"].value == 300
    reset = tick(instance, None)
    [everything] = reset.run_requests
    assert everything.run_key == f"sensor_stream:{name}:0..450"
    assert launch(instance, everything).success
    assert_stored_exactly(warehouse, pd.concat([first, second]))
    table = stored_readings(warehouse)
    assert checksum(table) == checksum(stream_contents(url)) == checksum(pd.concat([first, second]))


def test_a_folder_cursor_is_refused_on_a_broker_stream(shared_nats_stream_url, data_paths, warehouse, instance):
    publish(shared_nats_stream_url, readings(4, 5))
    folder_cursor = '{"next":{"segment":"segment-00000002.jsonl","offset":120},"pending":[]}'
    with pytest.raises(Exception, match="Reset the sensor's cursor"):
        tick(instance, folder_cursor)


def test_the_generator_publishes_with_acknowledgements_and_fails_loudly_without_a_broker(shared_nats_stream_url, data_paths):
    import os

    env = {**os.environ, "TSPLATFORM_STREAM_URL": shared_nats_stream_url}
    done = subprocess.run([TSPLATFORM, "stream", "--count", "400", "--rate", "200", "--simulated-step", "1min", "--seed", "5"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1200 acknowledged as stored" in done.stdout, done.stdout
    contents = stream_contents(shared_nats_stream_url)
    assert len(contents) == 1200 and contents["seq"].tolist() == list(range(1, 1201))
    assert not contents.duplicated(["sensor_id", "ts"]).any()

    env["TSPLATFORM_STREAM_URL"] = "nats://127.0.0.1:1/NOWHERE"
    refused = subprocess.run([TSPLATFORM, "stream", "--count", "5"], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "cannot reach the NATS server" in refused.stderr


def restart_while_reading(server, url: str) -> None:
    """Restart the server once a run's consumer is reading the stream (the publisher has none)."""
    import time

    stream = nats_stream(url)

    async def consumers(connection):
        return (await connection.jsm().stream_info(stream.name)).state.consumer_count

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not stream.call(consumers):
        time.sleep(0.05)
    time.sleep(0.5)
    server.restart(down_seconds=4.0)  # longer than the publisher's 2 s ack timeout: it must retry


@pytest.mark.slow
def test_a_nats_server_restarted_mid_run_while_the_publisher_keeps_publishing_stores_every_ack_once(
    private_nats, data_paths, instance, monkeypatch
):
    import threading
    import time

    from tsplatform.settings import warehouse_url
    from tsplatform.warehouse import open_warehouse

    url = f"{private_nats.url}/RESTART"
    monkeypatch.setenv("TSPLATFORM_STREAM_URL", url)
    warehouse = open_warehouse(warehouse_url())
    writer = JetStreamWriter(nats_stream(url), ack_timeout=2.0, ack_deadline=120.0)
    generator = ReadingGenerator(3, seed=7, spike_probability=0.0)
    acked: list[pd.DataFrame] = []  # frames whose append returned: every reading in them was acknowledged
    stop, problems = threading.Event(), []

    def publisher():
        try:
            with writer:
                k = 0
                while not stop.is_set():
                    frame = generator.simulate(pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=100 * k), 100, "1min")
                    writer.append(frame)
                    acked.append(frame[["sensor_id", "ts", "value"]])
                    k += 1
                    time.sleep(0.1)  # at most ~3,000 readings/s
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            problems.append(error)

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while sum(map(len, acked)) < 20_000 and time.monotonic() < deadline:
            time.sleep(0.2)
        first = tick(instance)
        [request] = first.run_requests
        backlog = SequenceCursor.from_string(request.run_config["ops"]["ingest_sensor_readings"]["config"]["end"]).seq
        assert backlog >= 20_000
        restart = threading.Thread(target=restart_while_reading, args=(private_nats, url))
        restart.start()
        began = time.monotonic()
        interrupted = launch(instance, request)
        restart.join()
        print(f"run over {backlog} messages ended after {time.monotonic() - began:.1f} s; success={interrupted.success}")
        assert not interrupted.success, "the restart should have cut the run's fetch"

        cursor, tick_errors = first.cursor, 0
        for _ in range(6):  # the daemon keeps ticking while the publisher publishes
            time.sleep(1.0)
            try:
                result = tick(instance, cursor)
            except Exception:  # noqa: BLE001 - the server still starting: the daemon logs and ticks again
                tick_errors += 1
                continue
            cursor = result.cursor
            for request in result.run_requests:
                launch(instance, request)
    finally:
        stop.set()
        thread.join(timeout=180)
    assert not problems, problems
    assert writer.counts.retried > 0, "the publisher should have waited out the restart"

    for _ in range(10):  # the publisher has stopped: catch up until nothing is pending
        result = tick(instance, cursor)
        cursor = result.cursor
        for request in result.run_requests:
            launch(instance, request)
        state = SensorState.from_string(cursor)
        if not state.pending and not result.run_requests:
            break
    state = SensorState.from_string(cursor)
    assert state.pending == [] and state.next == open_source(data_paths.stream).latest_cursor()

    sent = pd.concat(acked, ignore_index=True)
    table = stored_readings(warehouse)
    contents = stream_contents(url)
    print(f"acknowledged {len(sent)}, in the stream {len(contents)}, stored {len(table)}, "
          f"publish retries {writer.counts.retried}, deduplicated re-sends {writer.counts.deduplicated}, tick errors {tick_errors}")
    assert len(contents) == len(sent)  # retried publishes were not stored twice by the broker
    assert_stored_exactly(warehouse, sent)
    assert checksum(table) == checksum(sent) == checksum(contents)
