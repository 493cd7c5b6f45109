import json

import pandas as pd
import pytest

from tsplatform.stream import (
    Cursor,
    JsonlSegmentSource,
    MissingSegmentError,
    SegmentWriter,
    WriterBusyError,
)
from tsplatform.stream.source import DUPLICATE, OUT_OF_ORDER, TORN_TAIL

from .helpers import assert_same_records, write_readings


def test_written_readings_read_back_exactly(stream_folder):
    written = write_readings(stream_folder, 50)
    result = JsonlSegmentSource().read_range(Cursor(), JsonlSegmentSource().latest_cursor())
    assert list(result.records.columns) == ["sensor_id", "ts", "value"]
    assert str(result.records.ts.dtype) == "datetime64[ns, UTC]"
    assert_same_records(result.records, written)
    assert result.rejects.empty and result.issues.empty


def test_cursor_round_trips_through_a_short_string():
    cursor = Cursor("segment-00000012.jsonl", 4096)
    text = cursor.to_string()
    assert json.loads(text) == {"segment": "segment-00000012.jsonl", "offset": 4096}
    assert len(text) < 64 and Cursor.from_string(text) == cursor
    assert Cursor.from_string(None) == Cursor.from_string("") == Cursor.beginning()
    assert Cursor() < Cursor("segment-00000001.jsonl", 0) < Cursor("segment-00000001.jsonl", 9) < Cursor("segment-00000002.jsonl", 0)


@pytest.mark.parametrize(
    "text",
    ['{"segment":"../../etc/passwd","offset":0}', '{"segment":"segment-00000001.jsonl","offset":-1}',
     '{"segment":"segment-00000001.jsonl"}', "not json", '{"segment":null,"offset":5}',
     '{"segment":"segment-00000001.jsonl","offset":1.5}'],
)
def test_bad_cursor_strings_are_refused(text):
    with pytest.raises(ValueError):
        Cursor.from_string(text)


def test_reader_resumes_from_a_serialised_cursor_after_a_restart(stream_folder):
    written = write_readings(stream_folder, 40)
    first, cursor = JsonlSegmentSource(stream_folder).read_since(Cursor(), max_records=50)
    saved = cursor.to_string()
    more = write_readings(stream_folder, 10, start="2024-01-02")
    restarted = JsonlSegmentSource(stream_folder)  # a new process would start from the saved string
    rest, end = restarted.read_since(restarted.parse_cursor(saved))
    assert len(first) == 50
    assert_same_records(pd.concat([first, rest]), pd.concat([written, more]))
    assert restarted.read_since(end)[0].empty


def test_a_torn_last_line_is_not_read_until_it_is_complete(stream_folder):
    write_readings(stream_folder, 5)
    source = JsonlSegmentSource(stream_folder)
    records, cursor = source.read_since(Cursor())
    segment = stream_folder / cursor.segment
    line = b'{"sensor_id":"sensor_1","ts":"2024-01-02T00:00:00.000000Z","value":123.25}\n'
    with open(segment, "ab") as handle:
        handle.write(line[:30])
    assert source.latest_cursor() == cursor
    assert source.read_since(cursor)[0].empty
    with open(segment, "ab") as handle:
        handle.write(line[30:])
    completed, after = source.read_since(cursor)
    assert completed.value.tolist() == [123.25] and completed.sensor_id.tolist() == ["sensor_1"]
    assert source.read_since(after)[0].empty


def test_records_across_rotated_segments_are_read_once_in_order(stream_folder):
    written = write_readings(stream_folder, 200, max_bytes=3000)
    source = JsonlSegmentSource(stream_folder)
    assert len(source.segments()) > 5
    pieces, cursor = [], Cursor()
    while True:
        records, cursor = source.read_since(cursor, max_records=37)
        if records.empty:
            break
        pieces.append(records)
    assert_same_records(pd.concat(pieces), written)
    assert all(len(piece) == 37 for piece in pieces[:-1])


def test_segments_rotate_by_age(stream_folder):
    with SegmentWriter(stream_folder, max_age=1e-9) as writer:
        for start in ("2024-01-01", "2024-01-02", "2024-01-03"):
            writer.append(pd.DataFrame({"sensor_id": ["a"], "ts": [pd.Timestamp(start)], "value": [1.0]}))
    assert len(JsonlSegmentSource(stream_folder).segments()) == 3


def test_each_writer_session_starts_a_new_segment(stream_folder):
    write_readings(stream_folder, 3)
    write_readings(stream_folder, 3)
    assert JsonlSegmentSource(stream_folder).segments() == ["segment-00000001.jsonl", "segment-00000002.jsonl"]


def test_reading_the_same_range_twice_gives_the_same_records(stream_folder):
    written = write_readings(stream_folder, 30, max_bytes=2500)
    source = JsonlSegmentSource(stream_folder)
    start = source.read_since(Cursor(), max_records=10)[1]
    end = source.latest_cursor()
    write_readings(stream_folder, 30, start="2024-01-05")  # the stream moves on in the meantime
    first = source.read_range(start, end)
    second = JsonlSegmentSource(stream_folder).read_range(Cursor.from_string(start.to_string()), Cursor.from_string(end.to_string()))
    assert_same_records(first.records, second.records)
    assert_same_records(first.records, written.iloc[10:])
    assert first.end == second.end == end


def test_malformed_lines_are_rejected_with_segment_offset_and_reason(stream_folder):
    good = '{"sensor_id":"s1","ts":"2024-01-01T00:0%d:00.000000Z","value":%s}'
    lines = [
        good % (1, "1.5"),
        '{"sensor_id":"s1","ts":"2024-01-01T00:02:00',  # bad JSON (a torn line that got a newline)
        '{"sensor_id":"s1","value":2.0}',
        good % (3, '"abc"'),
        good % (4, "null"),
        good % (5, "true"),
        good % (6, "1e999"),
        "",
        '{"sensor_id":"s1","ts":"yesterday","value":3.0}',
        '[1, 2, 3]',
        '{"sensor_id":"","ts":"2024-01-01T00:07:00Z","value":3.0}',
        good % (9, "9.0"),
        good % (2, "2.0"),  # out of order: kept
        good % (9, "9.5"),  # duplicate timestamp: kept and reported
        '{"value": 4, "ts": "2024-01-01T01:00:00+01:00", "sensor_id": "s2"}',  # valid, other key order and offset
        '{"sensor_id":"s\u00e9","ts":"2024-01-01T00:10:00.000000Z","value":7}',  # valid, non-ASCII id, int value
    ]
    payload = "".join(line + "\n" for line in lines).encode()
    (stream_folder / "segment-00000001.jsonl").write_bytes(payload)
    source = JsonlSegmentSource(stream_folder)
    result = source.read_range(Cursor(), source.latest_cursor())

    assert result.records.value.tolist() == [1.5, 9.0, 2.0, 9.5, 4.0, 7.0]
    assert result.records.sensor_id.tolist()[-2:] == ["s2", "s\u00e9"]
    assert result.records.ts.iloc[-2] == pd.Timestamp("2024-01-01T00:00:00Z")
    reasons = dict(zip(result.rejects.offset, result.rejects.reason))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len((line + "\n").encode()))
    assert reasons == {
        starts[1]: "bad JSON",
        starts[2]: "missing field(s): ts",
        starts[3]: "non-numeric value",
        starts[4]: "non-numeric value",
        starts[5]: "non-numeric value",
        starts[6]: "non-finite value",
        starts[7]: "empty line",
        starts[8]: "bad timestamp",
        starts[9]: "not a JSON object",
        starts[10]: "sensor_id is not a non-empty string",
    }
    assert set(result.rejects.segment) == {"segment-00000001.jsonl"}
    assert result.rejects.line[result.rejects.offset == starts[3]].item() == lines[3]
    issues = result.issues.set_index("offset").issue.to_dict()
    assert issues == {starts[12]: OUT_OF_ORDER, starts[13]: DUPLICATE}
    assert (result.duplicates, result.out_of_order) == (1, 1)
    assert result.summary()["rejects"] == 10


def test_a_sealed_segment_with_a_torn_tail_reports_it_and_moves_on(stream_folder):
    write_readings(stream_folder, 2)
    with open(stream_folder / "segment-00000001.jsonl", "ab") as handle:
        handle.write(b'{"sensor_id":"sensor_1","ts":"20')  # the writer was killed mid-record
    later = write_readings(stream_folder, 2, start="2024-02-01")
    source = JsonlSegmentSource(stream_folder)
    result = source.read_range(Cursor(), source.latest_cursor())
    assert len(result.records) == 12
    assert_same_records(result.records.iloc[6:], later)
    assert result.rejects.reason.tolist() == [TORN_TAIL]


def test_invalid_ranges_fail_loudly(stream_folder):
    write_readings(stream_folder, 5)
    source = JsonlSegmentSource(stream_folder)
    end = source.latest_cursor()
    with pytest.raises(ValueError, match="line boundary"):
        source.read_range(Cursor(end.segment, 7), end)
    with pytest.raises(ValueError, match="before its start"):
        source.read_range(end, Cursor())
    with pytest.raises(ValueError, match="past the end"):
        source.read_range(Cursor(), Cursor(end.segment, end.offset + 100))
    with pytest.raises(MissingSegmentError):
        source.read_range(Cursor("segment-00000009.jsonl", 0), Cursor("segment-00000009.jsonl", 0))


def test_empty_folder_and_zero_max_records(stream_folder):
    source = JsonlSegmentSource(stream_folder)
    assert source.latest_cursor() == Cursor()
    assert source.read_since(Cursor()) [0].empty
    write_readings(stream_folder, 2)
    records, cursor = source.read_since(Cursor(), max_records=0)
    assert records.empty and cursor == Cursor()


def test_a_second_writer_is_kept_out(stream_folder):
    with SegmentWriter(stream_folder):
        with pytest.raises(WriterBusyError):
            SegmentWriter(stream_folder).open()
    with SegmentWriter(stream_folder):  # released on close
        pass


def test_a_large_backlog_reads_in_chunks_identically(stream_folder):
    written = write_readings(stream_folder, 3000)
    whole = JsonlSegmentSource(stream_folder)
    small_chunks = JsonlSegmentSource(stream_folder, chunk_bytes=1000)
    end = whole.latest_cursor()
    assert_same_records(small_chunks.read_range(Cursor(), end).records, whole.read_range(Cursor(), end).records)
    assert_same_records(whole.read_range(Cursor(), end).records, written)


def test_the_writer_refuses_what_it_could_not_write_back(stream_folder):
    with SegmentWriter(stream_folder) as writer:
        with pytest.raises(ValueError, match="non-finite"):
            writer.append(pd.DataFrame({"sensor_id": ["a"], "ts": [pd.Timestamp("2024-01-01")], "value": [float("nan")]}))
        with pytest.raises(ValueError, match="newline"):
            writer.append_lines([b'{"sensor_id":"a"}'])
        with pytest.raises(ValueError, match="sensor_id"):
            writer.append(pd.DataFrame({"sensor_id": [""], "ts": [pd.Timestamp("2024-01-01")], "value": [1.0]}))
    assert JsonlSegmentSource(stream_folder).segments() == []
