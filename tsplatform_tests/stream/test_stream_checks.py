"""The stream's line check reconciles a range's counts with the rows its lines have in the tables:
it can fail on real warehouse content, and when it does (ERROR, blocking) the ingest step fails and
the stats and the anomaly scan of that run do not run."""

import pandas as pd

from tsplatform.defs.stream.checks import STREAM_LINES_ARE_READINGS
from tsplatform.stream import JsonlSegmentSource, ReadingGenerator
from tsplatform.warehouse import utc_now

from .dagster_helpers import check_evaluation, tick_and_run, write

FIRST_SEGMENT = "segment-00000001.jsonl"


def test_a_row_claiming_a_line_of_the_range_fails_the_step_and_blocks_the_scan(data_paths, warehouse, instance):
    written = write(data_paths.stream, ReadingGenerator(2, seed=21), "2024-01-01", 30)
    first = written.iloc[0]
    with warehouse.transaction() as session:  # a reading the first line never held, attributed to it
        session.execute(
            "INSERT INTO sensor_readings (sensor_id, ts, value, segment, line_offset, run_id, stored_at) "
            "VALUES (?, ?, ?, ?, 0, 'forged', ?)",
            (first["sensor_id"], (pd.Timestamp(first["ts"]) + pd.Timedelta("1s")).tz_convert(None).to_pydatetime(),
             1.0, FIRST_SEGMENT, utc_now()),
        )

    _, [run] = tick_and_run(instance)

    assert not run.success and run.is_node_failed("ingest_sensor_readings")
    check = check_evaluation(run, STREAM_LINES_ARE_READINGS)
    assert not check.passed and check.severity.value == "ERROR"
    assert check.metadata["num_readings_in_table_from_range"].value == check.metadata["num_readings_counted_stored"].value + 1
    succeeded = {event.step_key for event in run.all_events if event.is_step_success}
    assert not succeeded & {"sensor_stats", "sensor_anomalies"}


def test_the_accounting_follows_the_tables(data_paths, warehouse):
    from tsplatform.defs.stream.checks import range_accounting
    from tsplatform.stream.range_ingest import ingest_range

    folder = data_paths.stream
    write(folder, ReadingGenerator(2, seed=22), "2024-01-01", 20)
    with open(folder / FIRST_SEGMENT, "ab") as handle:
        handle.write(b'{"oops"\n')
    outcome = ingest_range(warehouse, JsonlSegmentSource(folder), "", "", "run-1")
    accounting = range_accounting(warehouse, outcome)
    assert accounting.problems() == []
    assert (accounting.readings_held, accounting.set_aside_held) == (40, 1)

    again = ingest_range(warehouse, JsonlSegmentSource(folder), "", "", "run-2")  # all already stored
    assert again.counts.already_stored == 40 and range_accounting(warehouse, again).problems() == []

    with warehouse.transaction() as session:
        session.execute("DELETE FROM sensor_readings WHERE line_offset = 0")
        session.execute("DELETE FROM rejected_readings")
    problems = range_accounting(warehouse, again).problems()
    assert any("sensor_readings holds 39 rows" in p and "40 were counted" in p for p in problems)
    assert any("rejected_readings holds 0 rows" in p for p in problems)
