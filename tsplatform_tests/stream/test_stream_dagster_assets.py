"""The sensor-stream assets through real runs: exactly-once storage, rejects, the anomaly check,
forecasts with a true interval, and the path end to end from the generator to the chart page."""

import pandas as pd

from tsplatform.defs.stream.checks import NO_NEW_ANOMALIES, STREAM_LINES_ARE_READINGS
from tsplatform.stream import (
    ReadingGenerator,
    SegmentWriter,
    chart_file_name,
    run_backfill,
)
from tsplatform.stream.analysis import CHART_FOLDER
from tsplatform.warehouse import stream_tables

from .dagster_helpers import (
    assert_stored_exactly,
    check_evaluation,
    launch,
    refresh,
    tick,
    tick_and_run,
    write,
)


def test_the_same_range_run_twice_is_stored_exactly_once(data_paths, warehouse, instance):
    written = write(data_paths.stream, ReadingGenerator(3, seed=11), "2024-01-01", 50)
    [request] = tick(instance).run_requests
    first, second = launch(instance, request), launch(instance, request)
    assert first.success and second.success
    counts = [run.asset_materializations_for_node("ingest_sensor_readings")[0].metadata for run in (first, second)]
    assert [c["num_inserted"].value for c in counts] == [150, 0]
    assert [c["num_already_stored"].value for c in counts] == [0, 150]
    assert_stored_exactly(warehouse, written)
    with warehouse.transaction() as session:
        assert len(stream_tables.read_ranges(session)) == 1


def test_malformed_lines_are_recorded_not_fatal(data_paths, warehouse, instance):
    folder = data_paths.stream
    written = write(folder, ReadingGenerator(1, seed=12), "2024-01-01", 5)
    with open(folder / "segment-00000001.jsonl", "ab") as handle:
        handle.write(b'{"sensor_id":"sensor_1","ts":"2024-13-45T00:00:00Z","value":1}\n{"oops"\n')
    _, [run] = tick_and_run(instance)
    assert run.success
    assert_stored_exactly(warehouse, written)
    check = check_evaluation(run, STREAM_LINES_ARE_READINGS)
    assert not check.passed and check.metadata["num_rejected_lines"].value == 2
    rejected_metadata = run.asset_materializations_for_node("ingest_sensor_readings")[1].metadata
    assert rejected_metadata["num_rejected"].value == 2
    with warehouse.transaction() as session:
        quarantine = stream_tables.read_rejected_readings(session)
    assert len(quarantine) == 2 and quarantine["line"].str.contains("2024-13-45").any()
    assert (quarantine["run_id"] == run.run_id).all()


def test_injected_spikes_fail_the_anomaly_check_once(data_paths, warehouse, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(3, seed=13, spike_probability=0.0)
    quiet = write(folder, generator, "2024-01-01", 240)
    generator.spike("sensor_2", 60.0)
    generator.spike("sensor_3", -45.0)
    spiked = write(folder, generator, "2024-01-01 04:00", 240)
    cursor, [run] = tick_and_run(instance)
    assert run.success

    check = check_evaluation(run, NO_NEW_ANOMALIES)
    assert not check.passed and check.severity.value == "ERROR"
    assert check.metadata["num_new_alarms"].value == 2  # one alarm event per spiked sensor
    table = check.metadata["alarms"].value
    spike_time = pd.Timestamp("2024-01-01 04:00", tz="UTC")
    assert "sensor_2" in table and "sensor_3" in table and str(spike_time) in table
    assert f"/charts/{CHART_FOLDER}/{chart_file_name('sensor_2')}" in table
    with warehouse.transaction() as session:
        anomalies = stream_tables.read_anomalies(session)
        alarms = stream_tables.read_alarms(session).set_index("sensor_id")
    assert set(zip(anomalies["sensor_id"], anomalies["ts"])) == {("sensor_2", spike_time), ("sensor_3", spike_time)}
    scores = anomalies.set_index("sensor_id")["score"]
    assert scores.loc["sensor_2"] > 5 and scores.loc["sensor_3"] < -5
    assert sorted(alarms.index) == ["sensor_2", "sensor_3"] and (alarms["start_ts"] == spike_time).all()
    assert alarms.loc["sensor_2", "peak_score"] > alarms.loc["sensor_2", "threshold"] >= 8
    assert alarms.loc["sensor_3", "peak_score"] < -8 and (alarms["readings"] == 1).all()

    write(folder, generator, "2024-01-01 08:00", 60)  # quiet again: the check passes
    _, [calm] = tick_and_run(instance, cursor)
    assert check_evaluation(calm, NO_NEW_ANOMALIES).passed
    assert len(quiet) + len(spiked) == 1440


def test_the_forecast_has_a_true_prediction_interval(data_paths, warehouse, instance):
    write(data_paths.stream, ReadingGenerator(2, seed=14, spike_probability=0.0), "2024-01-01", 3 * 288, "5min")
    _, [run] = tick_and_run(instance)
    assert run.success
    result = refresh(instance, {"ops": {"sensor_forecast": {"config": {"horizon": "12h", "harmonics": 3}}}})
    assert result.success
    with warehouse.transaction() as session:
        forecast = stream_tables.read_forecast(session)
    assert sorted(forecast["sensor_id"].unique()) == ["sensor_1", "sensor_2"]
    assert (forecast.groupby("sensor_id").size() == 144).all()  # 12 h of 5-minute steps
    assert (forecast["lower_bound"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["upper_bound"]).all()
    assert (forecast["upper_bound"] - forecast["lower_bound"] > 0).all()
    assert (forecast["period_seconds"] == 86400).all() and (forecast["interval_level"] == 0.95).all()
    assert forecast["ds"].min() == pd.Timestamp("2024-01-03 23:55", tz="UTC") + pd.Timedelta("5min")
    # the band is where readings fall: the generator's noiseless cycle lies inside it
    truth = ReadingGenerator(2).expected(pd.DatetimeIndex(forecast[forecast.sensor_id == "sensor_1"]["ds"]))[:, 0]
    one = forecast[forecast.sensor_id == "sensor_1"]
    assert ((one["lower_bound"].to_numpy() <= truth) & (truth <= one["upper_bound"].to_numpy())).all()



def test_one_day_of_readings_forecasts_the_daily_cycle_and_says_why(data_paths, warehouse, instance):
    """``make run``'s demo: one day of backfill. The forecast keeps the daily cycle (detection had
    picked 8-12 h and the forecast climbed while the cycle fell); table, metadata and chart say why."""
    generator = ReadingGenerator(3, seed=21, spike_probability=0.0)
    write(data_paths.stream, generator, "2024-01-01", 24 * 60, "1min")
    _, [run] = tick_and_run(instance)
    assert run.success
    result = refresh(instance, {"ops": {"sensor_forecast": {"config": {"horizon": "6h"}}}})
    assert result.success
    with warehouse.transaction() as session:
        forecast = stream_tables.read_forecast(session)
    assert (forecast["period_seconds"] == 86400).all() and (forecast["period_source"] == "default").all()
    assert forecast["period_reason"].str.contains("cycles \\(needs 3\\)").all()
    models = result.asset_materializations_for_node("sensor_forecast")[0].metadata["models"].data
    assert {model["period_reason"] for model in models.values()} == set(forecast["period_reason"])
    for sensor, rows in forecast.groupby("sensor_id"):  # the next 6 h follow the true cycle
        truth = generator.expected(pd.DatetimeIndex(rows["ds"]))[:, int(sensor.split("_")[1]) - 1]
        assert abs(rows["yhat"].to_numpy() - truth).mean() < 1.5, sensor
    page = (data_paths.reports / CHART_FOLDER).glob("sensor_1-*.html")
    assert "period: default 24 h" in next(page).read_text()

def test_from_the_generator_through_the_sensor_to_tables_and_charts(data_paths, warehouse, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(3, seed=15, spike_probability=0.0)
    with SegmentWriter(folder, owner={"role": "backfill"}) as writer:
        summary = run_backfill(generator, writer, start="2024-03-01", end="2024-03-03", interval="2min")
    generator.spike("sensor_1", 70.0)
    live = write(folder, generator, "2024-03-03", 30, "2min")
    cursor, runs = tick_and_run(instance)
    assert [run.success for run in runs] == [True]
    result = refresh(instance)
    assert result.success

    with warehouse.transaction() as session:
        readings = stream_tables.read_readings(session)
        stats = stream_tables.read_stats(session).set_index("sensor_id")
        smoothed = stream_tables.read_smoothed(session)
        anomalies = stream_tables.read_anomalies(session)
        forecast = stream_tables.read_forecast(session)
    assert len(readings) == summary.records + len(live) == 3 * (1440 + 30)
    assert stats.loc["sensor_1", "total_count"] == 1470 and stats.loc["sensor_1", "median_interval_seconds"] == 120
    assert stats.loc["sensor_1", "last_seen"] == pd.Timestamp("2024-03-03 00:58", tz="UTC")
    assert len(smoothed) > 0 and smoothed["smoothed"].notna().all()
    assert list(zip(anomalies["sensor_id"], anomalies["ts"])) == [("sensor_1", pd.Timestamp("2024-03-03", tz="UTC"))]
    assert (forecast["lower_bound"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["upper_bound"]).all()

    charts = result.asset_materializations_for_node("sensor_charts")[0].metadata
    index = data_paths.reports / CHART_FOLDER / "index.html"
    assert charts["index"].value == str(index) and index.exists()
    for sensor in ("sensor_1", "sensor_2", "sensor_3"):
        page = data_paths.reports / CHART_FOLDER / chart_file_name(sensor)
        assert charts[f"chart {sensor}"].value == str(page)
        text = page.read_text()
        assert sensor in text and "prediction interval" in text and chart_file_name(sensor) in index.read_text()
    assert "anomalies" in (data_paths.reports / CHART_FOLDER / chart_file_name("sensor_1")).read_text()
    stats_metadata = runs[0].asset_materializations_for_node("sensor_stats")[0].metadata
    assert stats_metadata["sensor_1 total_count"].value == 1470
