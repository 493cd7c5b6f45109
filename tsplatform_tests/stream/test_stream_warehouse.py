"""The sensor-stream tables on both backends: exactly-once storage, rejects, the range ledger."""

import pandas as pd

from tsplatform.stream import Cursor, JsonlSegmentSource
from tsplatform.stream.range_ingest import ingest_range
from tsplatform.stream.range_planning import stream_range
from tsplatform.warehouse import stream_tables

from .helpers import write_readings


def stored(warehouse) -> pd.DataFrame:
    with warehouse.transaction() as session:
        return stream_tables.read_readings(session, positions=True)


def rejected(warehouse) -> pd.DataFrame:
    with warehouse.transaction() as session:
        return stream_tables.read_rejected_readings(session)


def test_a_range_stored_twice_is_stored_once_and_recorded_in_the_ledger(data_paths, warehouse):
    written = write_readings(data_paths.stream, 20)
    source = JsonlSegmentSource(data_paths.stream)
    end = source.latest_cursor().to_string()

    first = ingest_range(warehouse, source, "", end, "run-1")
    again = ingest_range(warehouse, source, "", end, "run-2")

    assert (first.counts.records, first.counts.inserted, first.counts.already_stored) == (60, 60, 0)
    assert (again.counts.inserted, again.counts.already_stored, again.counts.duplicates) == (0, 60, 0)
    assert not first.counts.range_was_recorded and again.counts.range_was_recorded
    table = stored(warehouse)
    assert len(table) == 60 and not table.duplicated(["sensor_id", "ts"]).any()
    expected = written.sort_values(["sensor_id", "ts"]).reset_index(drop=True)
    pd.testing.assert_series_equal(table["value"], expected["value"], check_names=False)
    assert (table["ts"] == expected["ts"]).all()
    with warehouse.transaction() as session:
        ledger = stream_tables.read_ranges(session)
        assert len(ledger) == 1 and ledger.loc[0, "run_id"] == "run-1" and ledger.loc[0, "num_inserted"] == 60
        whole = stream_range(Cursor(), Cursor.from_string(end))
        part = stream_range(Cursor(), Cursor(Cursor.from_string(end).segment, 0))
        beyond = stream_range(Cursor(), Cursor("segment-00000002.jsonl", 0))
        assert stream_tables.range_is_stored(session, whole) and stream_tables.range_is_stored(session, part)
        assert not stream_tables.range_is_stored(session, beyond)


def test_malformed_lines_and_duplicate_keys_go_to_rejected_readings_once(data_paths, warehouse):
    folder = data_paths.stream
    write_readings(folder, 3, sensors=1)
    segment = folder / "segment-00000001.jsonl"
    with open(segment, "ab") as handle:
        handle.write(b"not json at all\n")
        handle.write(b'{"sensor_id":"sensor_1","ts":"2024-01-01T00:01:00.000000Z","value":999.0}\n')  # key taken
    source = JsonlSegmentSource(folder)
    first_end = source.latest_cursor()
    ingest_range(warehouse, source, "", first_end.to_string(), "run-1")
    # a later line (another writer session) repeats a stored key with a different value
    with open(folder / "segment-00000002.jsonl", "wb") as handle:
        handle.write(b'{"sensor_id":"sensor_1","ts":"2024-01-01T00:02:00.000000Z","value":-5.0}\n')
    second = ingest_range(warehouse, source, first_end.to_string(), source.latest_cursor().to_string(), "run-2")
    assert (second.counts.records, second.counts.inserted, second.counts.duplicates) == (1, 0, 1)
    ingest_range(warehouse, source, "", source.latest_cursor().to_string(), "run-3")  # everything again

    table = stored(warehouse)
    assert len(table) == 3 and 999.0 not in table["value"].tolist() and -5.0 not in table["value"].tolist()
    quarantine = rejected(warehouse).set_index(["segment", "line_offset"])
    assert len(quarantine) == 3
    reasons = quarantine["reason"].tolist()
    assert reasons.count("bad JSON") == 1
    assert reasons.count(stream_tables.DUPLICATE_IN_RANGE) == 1
    assert reasons.count(stream_tables.DUPLICATE_STORED) == 1
    late = quarantine.loc[("segment-00000002.jsonl", 0)]
    assert late["value"] == -5.0 and late["sensor_id"] == "sensor_1" and late["run_id"] == "run-2"


def test_only_anomalies_not_recorded_before_are_new(warehouse):
    rows = pd.DataFrame({
        "sensor_id": ["a", "a"], "ts": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:05"], utc=True),
        "value": [50.0, 60.0], "score": [9.0, -8.0], "threshold": 3.5, "detection_window": "",
    })
    with warehouse.transaction() as session:
        assert len(stream_tables.insert_new_anomalies(session, rows.iloc[:1], "run-1")) == 1
    with warehouse.transaction() as session:
        new = stream_tables.insert_new_anomalies(session, rows, "run-2")
    assert new["ts"].tolist() == [pd.Timestamp("2024-01-01 00:05", tz="UTC")]
    with warehouse.transaction() as session:
        assert stream_tables.read_anomalies(session)["run_id"].tolist() == ["run-1", "run-2"]
