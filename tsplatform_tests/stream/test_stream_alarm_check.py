"""The no_new_anomalies check through real runs: it reports alarm events (sensor, start, peak score,
chart link), an alarm continued within its cool-down does not fail it again, and a fast stream after
a slow history is judged against that history."""

import pandas as pd

from tsplatform.defs.stream.checks import NO_NEW_ANOMALIES
from tsplatform.stream import ReadingGenerator, chart_file_name
from tsplatform.stream.analysis import CHART_FOLDER
from tsplatform.warehouse import stream_tables

from .dagster_helpers import check_evaluation, launch, tick, write

TWO_HOURS = {"sensor_anomalies": {"config": {"alarm_cooldown": "2h"}}}


def run_next(instance, cursor, extra_config=None):
    """One sensor tick and its one run (with extra op config); returns the new cursor and the run."""
    result = tick(instance, cursor)
    [request] = result.run_requests
    return result.cursor, launch(instance, request, extra_config)


def at(text):
    return pd.Timestamp(text, tz="UTC")


def test_spikes_within_the_cooldown_are_one_alarm_and_a_later_one_a_new_alarm(data_paths, warehouse, instance, monkeypatch):
    monkeypatch.setenv("TSPLATFORM_PUBLIC_URL", "https://ops.example.com/tsp")
    folder = data_paths.stream
    generator = ReadingGenerator(2, seed=31, spike_probability=0.0)
    write(folder, generator, "2024-01-01", 240)
    generator.spike("sensor_1", 60.0)
    write(folder, generator, "2024-01-01 04:00", 60)
    cursor, first = run_next(instance, None, TWO_HOURS)
    check = check_evaluation(first, NO_NEW_ANOMALIES)
    assert not check.passed and check.metadata["num_new_alarms"].value == 1
    assert check.description.startswith("1 new alarm, the first on sensor_1 at 2024-01-01 04:00:00")
    table = check.metadata["alarms"].value
    assert "| sensor_1 | 2024-01-01 04:00:00+00:00 | 2024-01-01 04:00:00+00:00 |" in table
    assert f"(https://ops.example.com/tsp/charts/{CHART_FOLDER}/{chart_file_name('sensor_1')})" in table
    assert "sensor_2" not in table

    generator.spike("sensor_1", -50.0)  # an hour later: within the 2 h cool-down
    write(folder, generator, "2024-01-01 05:00", 60)
    cursor, second = run_next(instance, cursor, TWO_HOURS)
    check = check_evaluation(second, NO_NEW_ANOMALIES)
    assert check.passed and check.metadata["num_new_alarms"].value == 0
    assert check.metadata["num_continued_alarms"].value == 1 and check.description == "no new alarms (1 continued)"
    with warehouse.transaction() as session:
        [alarm] = stream_tables.read_alarms(session).itertuples()
    expected = ("sensor_1", at("2024-01-01 04:00"), at("2024-01-01 05:00"), 2)
    assert (alarm.sensor_id, alarm.start_ts, alarm.end_ts, alarm.readings) == expected
    assert alarm.cooldown_seconds == 7200 and abs(alarm.peak_score) > alarm.threshold

    generator.spike("sensor_1", 60.0)  # three hours after the last one: a new alarm
    write(folder, generator, "2024-01-01 08:00", 60)
    _, third = run_next(instance, cursor, TWO_HOURS)
    check = check_evaluation(third, NO_NEW_ANOMALIES)
    assert not check.passed and check.metadata["num_new_alarms"].value == 1
    with warehouse.transaction() as session:
        alarms = stream_tables.read_alarms(session)
    assert alarms["start_ts"].tolist() == [at("2024-01-01 04:00"), at("2024-01-01 08:00")]
    assert alarms["run_id"].tolist() == [first.run_id, third.run_id]
    materialization = third.asset_materializations_for_node("sensor_anomalies")[0].metadata
    assert materialization["num_new_alarms"].value == 1 and "2024-01-01 08:00:00" in materialization["new_alarms"].value


def test_a_fast_live_stream_after_a_day_of_history_raises_one_alarm_at_the_spike(data_paths, warehouse, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(3, seed=32, spike_probability=0.0)
    write(folder, generator, "2024-01-01", 1440)  # the day of history make run writes
    cursor, backfill = run_next(instance, None)
    assert check_evaluation(backfill, NO_NEW_ANOMALIES).passed
    write(folder, generator, "2024-01-02", 600, "500ms")
    generator.spike("sensor_3", -40.0)
    write(folder, generator, "2024-01-02 00:05", 600, "500ms")
    _, live = run_next(instance, cursor)
    check = check_evaluation(live, NO_NEW_ANOMALIES)
    assert not check.passed and check.metadata["num_new_alarms"].value == 1
    with warehouse.transaction() as session:
        [alarm] = stream_tables.read_alarms(session).itertuples()
    assert (alarm.sensor_id, alarm.start_ts, alarm.readings) == ("sensor_3", at("2024-01-02 00:05"), 1)
    assert alarm.peak_score < -alarm.threshold
