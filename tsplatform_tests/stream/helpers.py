"""Shared test helpers for the stream tests."""

import json
from pathlib import Path

import pandas as pd

from tsplatform.stream import ReadingGenerator, SegmentWriter
from tsplatform.stream.segments import complete_length, list_segments


def write_readings(folder: Path, ticks: int, *, sensors: int = 3, seed: int = 1, start="2024-01-01", **writer_options):
    """Generate ``ticks`` readings per sensor one minute apart, write them, return the frame written."""
    readings = ReadingGenerator(sensors, seed=seed, spike_probability=0.0).simulate(start, ticks, "1min")
    with SegmentWriter(folder, **writer_options) as writer:
        writer.append(readings)
    return readings[["sensor_id", "ts", "value"]].reset_index(drop=True)


def assert_same_records(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False, check_exact=True
    )


def assert_every_line_parses(folder: Path) -> int:
    """No torn record anywhere: each segment ends on a newline and each line is a full reading."""
    lines = 0
    for name in list_segments(folder):
        path = folder / name
        assert complete_length(path) == path.stat().st_size, f"{name} ends in a partial line"
        for line in path.read_text().splitlines():
            record = json.loads(line)
            assert set(record) == {"sensor_id", "ts", "value"}
            assert isinstance(record["value"], float)
            pd.Timestamp(record["ts"])
            lines += 1
    return lines
