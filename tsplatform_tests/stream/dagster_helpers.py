"""Driving the stream path as the daemon would: evaluate the real sensor, launch what it asks for."""

from functools import lru_cache

import dagster as dg
import pandas as pd

from tsplatform.definitions import defs
from tsplatform.defs.dagster_tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from tsplatform.stream import ReadingGenerator, SegmentWriter
from tsplatform.warehouse import stream_tables

SENSOR = "sensor_stream_sensor"


@lru_cache(maxsize=1)
def definitions() -> dg.Definitions:
    """Loaded once: the resources read TSPLATFORM_DATA_DIR / TSPLATFORM_WAREHOUSE_URL when used."""
    return defs()


def stream_ingest_job() -> dg.JobDefinition:
    """The job as a code location serves it (for ``dg.reconstructable``: runs through its own executor)."""
    return definitions().resolve_job_def("sensor_stream_ingest_job")


def tick(instance, cursor: str | None = None) -> dg.SensorResult:
    """One evaluation of the real sensor with the given stored cursor (a fresh context = a restart)."""
    sensor = definitions().resolve_sensor_def(SENSOR)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=definitions().resources) as context:
        return sensor(context)


def launch(instance, request: dg.RunRequest, extra_config: dict | None = None):
    """Run a requested run in process, tagged as the daemon tags it (run key, sensor name)."""
    job = definitions().resolve_job_def("sensor_stream_ingest_job")
    run_config = {"ops": {**request.run_config["ops"], **(extra_config or {})}}
    return job.execute_in_process(
        run_config=run_config,
        instance=instance,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR},
        raise_on_error=False,
    )


def tick_and_run(instance, cursor: str | None = None) -> tuple[str, list]:
    """A tick, then every run it asked for; returns the new cursor and the run results."""
    result = tick(instance, cursor)
    return result.cursor, [launch(instance, request) for request in result.run_requests]


def refresh(instance, run_config: dict | None = None):
    return definitions().resolve_job_def("sensor_stream_refresh_job").execute_in_process(
        instance=instance, run_config=run_config or {}, raise_on_error=False
    )


def write(folder, generator: ReadingGenerator, start, ticks: int, step: str = "1min") -> pd.DataFrame:
    """One writer session (so one new segment) of ``ticks`` instants; returns what was written."""
    readings = generator.simulate(start, ticks, step)
    with SegmentWriter(folder) as writer:
        writer.append(readings)
    return readings


def stored_readings(warehouse) -> pd.DataFrame:
    with warehouse.transaction() as session:
        return stream_tables.read_readings(session)


def assert_stored_exactly(warehouse, written: pd.DataFrame) -> None:
    """Every written reading is in sensor_readings once, with its value; nothing else is."""
    table = stored_readings(warehouse)
    assert not table.duplicated(["sensor_id", "ts"]).any()
    expected = written[["sensor_id", "ts", "value"]].sort_values(["sensor_id", "ts"]).reset_index(drop=True)
    assert len(table) == len(expected)
    assert table["sensor_id"].tolist() == expected["sensor_id"].tolist()
    assert table["ts"].tolist() == pd.DatetimeIndex(expected["ts"]).tolist()
    assert (table["value"].to_numpy() == expected["value"].to_numpy()).all()


def check_evaluation(result, check_name: str):
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == check_name]
    return evaluation
