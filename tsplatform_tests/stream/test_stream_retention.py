"""Stream retention against real segment files, a real warehouse (the ledger rules on DuckDB and
PostgreSQL) and real Dagster runs: only sealed, fully stored, old segments go, and the sensor and
its runs carry on after."""

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

from tsplatform.cli.stream import stream
from tsplatform.defs.stream.housekeeping import STREAM_RETENTION
from tsplatform.settings import warehouse_url
from tsplatform.stream import (
    Cursor,
    JsonlSegmentSource,
    MissingSegmentError,
    ReadingGenerator,
    list_segments,
)
from tsplatform.stream.range_ingest import ingest_range
from tsplatform.stream.retention import (
    RETIRED_FILE,
    RemovableSegment,
    is_fully_stored,
    parse_retention,
    remove_segments,
    retired_segments,
)
from tsplatform.warehouse import open_warehouse

from .dagster_helpers import (
    assert_stored_exactly,
    definitions,
    launch,
    refresh,
    tick,
    tick_and_run,
    write,
)

OLD = "2024-01-01"
SEG = [None] + [f"segment-{n:08d}.jsonl" for n in range(1, 10)]  # SEG[n] is segment n


def recent(minutes_ago: int) -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=minutes_ago)


def run_retention(instance, older_than: str = ""):
    job = definitions().resolve_job_def("sensor_stream_refresh_job")
    result = job.execute_in_process(
        instance=instance, asset_selection=[STREAM_RETENTION], raise_on_error=False,
        run_config={"ops": {"stream_retention": {"config": {"older_than": older_than}}}},
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("stream_retention")
    return {key: value.value for key, value in materialization.metadata.items()}


def store(folder, start: Cursor, end: Cursor):
    """Store one range as an ingest run would (readings, rejects and the ledger row together)."""
    return ingest_range(open_warehouse(warehouse_url()), JsonlSegmentSource(folder), start.to_string(), end.to_string(), None)


def first_line_end(path) -> int:
    return path.read_bytes().index(b"\n") + 1


def test_old_stored_segments_go_and_the_sensor_and_its_runs_carry_on(data_paths, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(2, seed=3)
    written = [write(folder, generator, OLD, 20), write(folder, generator, "2024-01-02", 20)]
    first = tick(instance)
    assert [launch(instance, request).success for request in first.run_requests] == [True]
    cursor = first.cursor
    written.append(write(folder, generator, recent(30), 20))  # seals segment 2; segment 3 is young and live

    # the whole refresh job, as the schedule runs it (its forecast of 40 scattered minutes is beside the point)
    result = refresh(instance, {"ops": {"stream_retention": {"config": {"older_than": "7D"}}}})
    assert result.is_node_success("stream_retention")
    [materialization] = result.asset_materializations_for_node("stream_retention")
    assert materialization.metadata["num_removed"].value == 2
    sizes = retired_segments(folder)
    assert sorted(sizes) == [SEG[1], SEG[2]] and materialization.metadata["bytes_removed"].value == sum(sizes.values())
    assert list_segments(folder) == [SEG[3]]

    # the sensor's next range starts at the removed segment 2's end: the run reads segment 3 only
    cursor, runs = tick_and_run(instance, cursor)
    assert [run.success for run in runs] == [True]
    assert_stored_exactly(open_warehouse(warehouse_url()), pd.concat(written))

    written.append(write(folder, generator, recent(10), 20))
    assert run_retention(instance)["num_removed"] == 0  # segment 3 is stored and sealed, but young
    cursor, runs = tick_and_run(instance, cursor)
    assert [run.success for run in runs] == [True]
    assert tick(instance, cursor).run_requests == []
    assert_stored_exactly(open_warehouse(warehouse_url()), pd.concat(written))
    assert list_segments(folder) == [SEG[3], SEG[4]]

    # a re-run of the first range (segments 1 and 2, both gone) reads nothing and stores nothing twice
    assert launch(instance, first.run_requests[0]).success
    assert_stored_exactly(open_warehouse(warehouse_url()), pd.concat(written))


def test_a_segment_with_a_ledger_gap_a_torn_tail_or_the_live_one_is_kept(data_paths, warehouse, instance):
    folder = data_paths.stream
    generator = ReadingGenerator(2, seed=4)
    for day in range(1, 5):
        write(folder, generator, f"2024-01-0{day}", 10)
    with open(folder / SEG[3], "ab") as handle:  # a sealed segment whose last line was torn
        handle.write(b'{"sensor_id":"sensor_1","ts":"2024-01-03T')
    store(folder, Cursor(), Cursor(SEG[2], 0))  # segment 1, all of it
    store(folder, Cursor(SEG[2], 0), Cursor(SEG[2], first_line_end(folder / SEG[2])))  # segment 2: one line
    store(folder, Cursor(SEG[3], 0), Cursor(SEG[3], (folder / SEG[3]).read_bytes().rindex(b"\n") + 1))  # not its torn tail
    store(folder, Cursor(SEG[4], 0), JsonlSegmentSource(folder).latest_cursor())  # segment 4: live, old, stored

    metadata = run_retention(instance)
    assert metadata["removed"] == [SEG[1]] and metadata["num_kept"] == 3
    assert list_segments(folder) == [SEG[2], SEG[3], SEG[4]]

    # once the rest of segment 2 and the torn tail of 3 are stored (a range across both), they go too
    outcome = store(folder, Cursor(SEG[2], first_line_end(folder / SEG[2])), Cursor(SEG[4], 0))
    assert outcome.counts.rejected == 1  # the torn tail, recorded before its bytes are removed
    assert run_retention(instance)["removed"] == [SEG[2], SEG[3]]
    assert list_segments(folder) == [SEG[4]]


def test_off_keeps_everything_and_a_segment_missing_without_retention_still_fails_the_run(data_paths, instance, monkeypatch):
    folder = data_paths.stream
    generator = ReadingGenerator(2, seed=5)
    write(folder, generator, OLD, 10)
    write(folder, generator, "2024-01-02", 10)
    cursor, runs = tick_and_run(instance)
    write(folder, generator, "2024-01-03", 10)

    monkeypatch.setenv("TSPLATFORM_STREAM_RETENTION", "off")
    assert run_retention(instance)["retention"] == "off"
    assert run_retention(instance, "0")["num_removed"] == 0
    assert list_segments(folder) == [SEG[1], SEG[2], SEG[3]] and not (folder / RETIRED_FILE).exists()

    (folder / SEG[2]).unlink()  # removed by hand, not by retention: the next range cannot be trusted
    [run] = tick_and_run(instance, cursor)[1]
    assert not run.success
    assert "is not in" in str(run.get_step_failure_events()[0].event_specific_data.error.message)


def test_cli_prune_dry_run_lists_and_prune_removes(data_paths, instance, monkeypatch):
    folder = data_paths.stream
    generator = ReadingGenerator(1, seed=6)
    write(folder, generator, OLD, 5)
    write(folder, generator, recent(60 * 24 * 2), 5)  # two days old
    write(folder, generator, recent(5), 5)
    store(folder, Cursor(), JsonlSegmentSource(folder).latest_cursor())
    monkeypatch.setenv("TSPLATFORM_STREAM_RETENTION", "7D")

    dry = CliRunner().invoke(stream, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Would remove {SEG[1]}" in dry.output and list_segments(folder) == [SEG[1], SEG[2], SEG[3]]
    done = CliRunner().invoke(stream, ["prune", "--older-than", "1D"])
    assert done.exit_code == 0, done.output
    assert list_segments(folder) == [SEG[3]] and "Removed 2 segment(s)" in done.output
    assert CliRunner().invoke(stream, ["prune", "--older-than", "soon"]).exit_code == 2


def test_coverage_and_age_parsing():
    spans = [(0, 0, 2, 0), (2, 0, 2, 100), (2, 100, 4, 50)]  # ranges across segment boundaries
    assert is_fully_stored(1, 500, spans) and is_fully_stored(2, 300, spans) and is_fully_stored(3, 10, spans)
    assert not is_fully_stored(4, 60, spans)  # 50..60 of the segment not stored
    assert not is_fully_stored(2, 300, [(0, 0, 2, 100), (2, 120, 3, 0)])  # a gap 100..120
    assert not is_fully_stored(5, 1, spans) and is_fully_stored(5, 0, [])
    assert parse_retention(None) == dt.timedelta(days=7) and parse_retention("36h") == dt.timedelta(hours=36)
    assert parse_retention("off") is None and parse_retention("0") is None and parse_retention("0s") is None
    with pytest.raises(ValueError):
        parse_retention("a week")


def test_a_read_skips_a_retired_segment_only_up_to_its_recorded_size(stream_folder):
    generator = ReadingGenerator(1, seed=7)
    write(stream_folder, generator, OLD, 5)
    second = write(stream_folder, generator, "2024-01-02", 5)
    write(stream_folder, generator, "2024-01-03", 5)
    size = (stream_folder / SEG[1]).stat().st_size
    now = dt.datetime.now(dt.UTC)
    removed = remove_segments(stream_folder, [RemovableSegment(SEG[1], size, now, "mtime")])
    assert [segment.name for segment in removed] == [SEG[1]] and retired_segments(stream_folder) == {SEG[1]: size}
    source = JsonlSegmentSource(stream_folder)
    result = source.read_range(Cursor(SEG[1], size), Cursor(SEG[3], 0))
    assert result.records["ts"].tolist() == pd.DatetimeIndex(second["ts"]).tolist()
    with pytest.raises(MissingSegmentError):
        source.read_range(Cursor(SEG[1], size + 1), Cursor(SEG[3], 0))
    (stream_folder / SEG[2]).unlink()  # gone without a record
    with pytest.raises(MissingSegmentError):
        source.read_range(Cursor(SEG[2], 0), Cursor(SEG[3], 0))
