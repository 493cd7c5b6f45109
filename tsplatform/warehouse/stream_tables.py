"""The sensor-stream tables: readings stored exactly once, the range ledger, rejects, and the
analysis tables (stats, smoothed, anomalies, alarms, forecast).

``store_range`` is the one write of the ingest path. In the caller's transaction it stores a
cursor range's readings (set-based, ``INSERT ... WHERE NOT EXISTS`` on the key (sensor_id, ts)),
its rejected lines and its ledger row in ``sensor_stream_ranges``; so either all of a range is
stored and recorded, or none of it. Running it again for the same range stores nothing twice.

A reading's identity in the stream is where its line is: (segment, line_offset). That tells a
re-delivered line (the same reading again: silently already stored) from a second line with a
(sensor_id, ts) that is already taken (a duplicate: kept out of the table, recorded in
``rejected_readings``).

Every timestamp is naive UTC in the tables; the read functions return UTC-aware ``ts``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from tsplatform.warehouse.base import Conditions, Session, page_clause, replace_rows, utc_now

DUPLICATE_IN_RANGE = "duplicate (sensor_id, ts): an earlier line of the stream has the same key; the first is stored"
DUPLICATE_STORED = "duplicate (sensor_id, ts): a reading from another line of the stream is already stored"

_READING_TYPES = {
    "sensor_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "value": "DOUBLE PRECISION",
    "segment": "VARCHAR",
    "line_offset": "BIGINT",
}
_REJECT_TYPES = {
    "segment": "VARCHAR",
    "line_offset": "BIGINT",
    "reason": "VARCHAR",
    "line": "VARCHAR",
    "sensor_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "value": "DOUBLE PRECISION",
}
_STATS_TYPES = {
    "sensor_id": "VARCHAR",
    "total_count": "BIGINT",
    "window_count": "BIGINT",
    "window_start": "TIMESTAMP",
    "first_seen": "TIMESTAMP",
    "last_seen": "TIMESTAMP",
    "rate_per_second": "DOUBLE PRECISION",
    "min_value": "DOUBLE PRECISION",
    "mean_value": "DOUBLE PRECISION",
    "max_value": "DOUBLE PRECISION",
    "median_interval_seconds": "DOUBLE PRECISION",
    "gaps": "BIGINT",
    "largest_gap_seconds": "DOUBLE PRECISION",
}
_SMOOTHED_TYPES = {
    "sensor_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "value": "DOUBLE PRECISION",
    "smoothed": "DOUBLE PRECISION",
    "smoothing_window": "VARCHAR",
}
_ANOMALY_TYPES = {
    "sensor_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "value": "DOUBLE PRECISION",
    "score": "DOUBLE PRECISION",
    "threshold": "DOUBLE PRECISION",
    "detection_window": "VARCHAR",
}
_FORECAST_TYPES = {
    "sensor_id": "VARCHAR",
    "ds": "TIMESTAMP",
    "yhat": "DOUBLE PRECISION",
    "lower_bound": "DOUBLE PRECISION",
    "upper_bound": "DOUBLE PRECISION",
    "interval_level": "DOUBLE PRECISION",
    "period_seconds": "DOUBLE PRECISION",
    "period_source": "VARCHAR",
    "period_reason": "VARCHAR",
    "harmonics": "INTEGER",
    "sampling_seconds": "DOUBLE PRECISION",
}
_RANGE_KEY_TYPES = {"range_start": "VARCHAR", "range_end": "VARCHAR"}


@dataclass(frozen=True)
class StreamRange:
    """A cursor range ``[start, end)`` of the stream: the cursor strings (the ledger key) and their
    positions as (segment sequence, byte offset) — sequence 0 is the beginning of the stream."""

    start: str
    end: str
    start_sequence: int
    start_offset: int
    end_sequence: int
    end_offset: int
    key_prefix: str = '{"segment":'  # every cursor string of this stream starts so (a broker stream: its name)


@dataclass(frozen=True)
class StoreCounts:
    """What ``store_range`` did. records = inserted + already_stored + duplicates."""

    records: int  # valid readings in the range
    inserted: int  # new rows in sensor_readings
    already_stored: int  # the same lines were stored before (a re-run, an overlapping range)
    duplicates: int  # a different line already holds the (sensor_id, ts): not stored
    rejected: int  # malformed lines in the range
    range_was_recorded: bool  # the ledger already had this exact range before this call
    min_ts: dt.datetime | None
    max_ts: dt.datetime | None

    def as_metadata(self) -> dict[str, int]:
        return {
            "num_records": self.records,
            "num_inserted": self.inserted,
            "num_already_stored": self.already_stored,
            "num_duplicates": self.duplicates,
            "num_rejected": self.rejected,
        }


def naive_utc(values) -> pd.Series:
    """Timestamps as naive UTC datetime64 (what the TIMESTAMP columns hold)."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None)


def store_range(
    session: Session, stream_range: StreamRange, readings: pd.DataFrame, rejects: pd.DataFrame, run_id: str | None
) -> StoreCounts:
    """Store one range: readings, rejected lines and the ledger row, all in ``session``'s transaction.

    readings: sensor_id, ts, value, segment, line_offset — in stream order (the first line of a
        repeated (sensor_id, ts) wins).
    rejects: segment, line_offset, reason, line — lines that are not readings.
    """
    now = utc_now()
    recorded = _range_recorded(session, stream_range)
    readings = readings.reset_index(drop=True).assign(ts=lambda f: naive_utc(f["ts"]).to_numpy())
    repeated = readings.duplicated(["sensor_id", "ts"], keep="first").to_numpy()
    firsts, extras = readings[~repeated], readings[repeated]

    inserted = already = other = 0
    if len(firsts):
        session.load_frame("staged_readings", firsts, _READING_TYPES)
        _total, inserted, already, other = session.fetch_row(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE r.sensor_id IS NULL),
                   count(*) FILTER (WHERE r.segment = s.segment AND r.line_offset = s.line_offset),
                   count(*) FILTER (WHERE r.sensor_id IS NOT NULL
                                    AND NOT (r.segment = s.segment AND r.line_offset = s.line_offset))
            FROM staged_readings s
            LEFT JOIN sensor_readings r ON r.sensor_id = s.sensor_id AND r.ts = s.ts
            """
        )
        # a different line already holds the key: record it where people look, before inserting
        session.execute(
            """
            INSERT INTO rejected_readings (segment, line_offset, reason, line, sensor_id, ts, value,
                                           range_start, range_end, run_id, rejected_at)
            SELECT s.segment, s.line_offset, ?, NULL, s.sensor_id, s.ts, s.value, ?, ?, ?, ?
            FROM staged_readings s
            JOIN sensor_readings r ON r.sensor_id = s.sensor_id AND r.ts = s.ts
            WHERE NOT (r.segment = s.segment AND r.line_offset = s.line_offset)
              AND NOT EXISTS (SELECT 1 FROM rejected_readings x
                              WHERE x.segment = s.segment AND x.line_offset = s.line_offset)
            """,
            (DUPLICATE_STORED, stream_range.start, stream_range.end, run_id, now),
        )
        session.execute(
            """
            INSERT INTO sensor_readings (sensor_id, ts, value, segment, line_offset, run_id, stored_at)
            SELECT s.sensor_id, s.ts, s.value, s.segment, s.line_offset, ?, ?
            FROM staged_readings s
            WHERE NOT EXISTS (SELECT 1 FROM sensor_readings r WHERE r.sensor_id = s.sensor_id AND r.ts = s.ts)
            """,
            (run_id, now),
        )

    lines = pd.concat(
        [
            rejects.assign(sensor_id=None, ts=pd.NaT, value=float("nan"))[list(_REJECT_TYPES)],
            extras.assign(reason=DUPLICATE_IN_RANGE, line=None)[list(_REJECT_TYPES)],
        ],
        ignore_index=True,
    ) if len(rejects) or len(extras) else pd.DataFrame(columns=list(_REJECT_TYPES))
    if len(lines):
        lines["ts"] = naive_utc(lines["ts"]).to_numpy()
        session.load_frame("staged_rejects", lines, _REJECT_TYPES)
        session.execute(
            """
            INSERT INTO rejected_readings (segment, line_offset, reason, line, sensor_id, ts, value,
                                           range_start, range_end, run_id, rejected_at)
            SELECT s.segment, s.line_offset, s.reason, s.line, s.sensor_id, s.ts, s.value, ?, ?, ?, ?
            FROM staged_rejects s
            WHERE NOT EXISTS (SELECT 1 FROM rejected_readings x
                              WHERE x.segment = s.segment AND x.line_offset = s.line_offset)
            """,
            (stream_range.start, stream_range.end, run_id, now),
        )

    min_ts = readings["ts"].min().to_pydatetime() if len(readings) else None
    max_ts = readings["ts"].max().to_pydatetime() if len(readings) else None
    counts = StoreCounts(
        records=len(readings),
        inserted=int(inserted),
        already_stored=int(already),
        duplicates=int(other) + len(extras),
        rejected=len(rejects),
        range_was_recorded=recorded,
        min_ts=min_ts,
        max_ts=max_ts,
    )
    if not recorded:
        session.execute(
            """
            INSERT INTO sensor_stream_ranges (range_start, range_end, start_sequence, start_offset, end_sequence,
                                              end_offset, num_records, num_inserted, num_already_stored,
                                              num_duplicates, num_rejected, min_ts, max_ts, run_id, stored_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                stream_range.start, stream_range.end, stream_range.start_sequence, stream_range.start_offset,
                stream_range.end_sequence, stream_range.end_offset, counts.records, counts.inserted,
                counts.already_stored, counts.duplicates, counts.rejected, min_ts, max_ts, run_id, now,
            ),
        )
    return counts


def _range_recorded(session: Session, stream_range: StreamRange) -> bool:
    return session.fetch_one(
        "SELECT 1 FROM sensor_stream_ranges WHERE range_start = ? AND range_end = ?",
        (stream_range.start, stream_range.end),
    ) is not None


def range_is_stored(session: Session, stream_range: StreamRange) -> bool:
    """True when one ledger row covers the whole range (the same range, or a wider one such as a
    manual re-read from the beginning) of the same stream: the folder's rows never cover a broker
    stream's, nor one broker stream's another's."""
    r = stream_range
    row = session.fetch_one(
        """
        SELECT 1 FROM sensor_stream_ranges
        WHERE (start_sequence < ? OR (start_sequence = ? AND start_offset <= ?))
          AND (end_sequence > ? OR (end_sequence = ? AND end_offset >= ?))
          AND strpos(range_start, ?) = 1
        LIMIT 1
        """,
        (r.start_sequence, r.start_sequence, r.start_offset, r.end_sequence, r.end_sequence, r.end_offset,
         r.key_prefix),
    )
    return row is not None


def read_ranges(session: Session) -> pd.DataFrame:
    return session.fetch_df(
        "SELECT * FROM sensor_stream_ranges ORDER BY start_sequence, start_offset, end_sequence, end_offset"
    )


def folder_spans(session: Session) -> list[tuple[int, int, int, int]]:
    """(start_sequence, start_offset, end_sequence, end_offset) of every stored range of the JSON
    Lines folder (a broker stream's rows left out): what retention checks coverage against."""
    rows = session.fetch_all(
        "SELECT start_sequence, start_offset, end_sequence, end_offset FROM sensor_stream_ranges "
        "WHERE strpos(range_start, ?) = 1",
        (StreamRange.key_prefix,),
    )
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows]


def newest_reading_per_segment(session: Session) -> dict[str, dt.datetime]:
    """Segment name -> the newest ts of its lines (stored readings and set-aside duplicates), naive UTC."""
    rows = session.fetch_all(
        "SELECT segment, max(ts) FROM (SELECT segment, ts FROM sensor_readings UNION ALL "
        "SELECT segment, ts FROM rejected_readings WHERE ts IS NOT NULL) lines GROUP BY segment"
    )
    return {str(segment): _as_datetime(newest) for segment, newest in rows if segment is not None and newest is not None}


def unscanned_ranges(session: Session) -> pd.DataFrame:
    """Stored ranges the anomaly detection has not looked at yet: range_start, range_end, min_ts, max_ts."""
    return session.fetch_df(
        "SELECT range_start, range_end, min_ts, max_ts FROM sensor_stream_ranges "
        "WHERE anomalies_scanned_at IS NULL ORDER BY start_sequence, start_offset"
    )


def mark_scanned(session: Session, ranges: pd.DataFrame) -> None:
    """Set anomalies_scanned_at on these ranges (columns range_start, range_end)."""
    if ranges.empty:
        return
    session.load_frame("staged_ranges", ranges, _RANGE_KEY_TYPES)
    session.execute(
        """
        UPDATE sensor_stream_ranges AS g SET anomalies_scanned_at = ?
        FROM staged_ranges s
        WHERE g.range_start = s.range_start AND g.range_end = s.range_end
        """,
        (utc_now(),),
    )


def read_readings(
    session: Session,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    sensor_id: str | None = None,
    *,
    positions: bool = False,
) -> pd.DataFrame:
    """sensor_id, ts (UTC), value — optionally only ``start <= ts <= end`` and one sensor — ordered
    by sensor and time; with ``positions`` also segment and line_offset."""
    where = _times("ts", start, end).equal("sensor_id", sensor_id)
    columns = "sensor_id, ts, value" + (", segment, line_offset" if positions else "")
    frame = session.fetch_df(f"SELECT {columns} FROM sensor_readings{where.where} ORDER BY sensor_id, ts", where.params)
    return _with_utc(frame, "ts")


def read_stored_readings(
    session: Session, sensor_id: str | None = None, since: dt.datetime | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Every stored column, in time order. With ``since``: the first ``limit`` readings from then
    on (a client pages forward from its last ``ts``); without it: the newest ``limit`` (a tail)."""
    conditions = _times("ts", since).equal("sensor_id", sensor_id)
    where, params = conditions.where, conditions.params
    if since is None and limit is not None:
        sql = (
            f"SELECT * FROM (SELECT * FROM sensor_readings{where} ORDER BY ts DESC, sensor_id DESC{page_clause(limit)}) newest "
            "ORDER BY ts, sensor_id"
        )
    else:
        sql = f"SELECT * FROM sensor_readings{where} ORDER BY ts, sensor_id{page_clause(limit)}"
    return _with_utc(session.fetch_df(sql, params), "ts")


def table_sizes(session: Session) -> tuple[int, int]:
    """Rows in sensor_readings and in rejected_readings."""
    readings = session.fetch_row("SELECT count(*) FROM sensor_readings")[0]
    rejects = session.fetch_row("SELECT count(*) FROM rejected_readings")[0]
    return int(readings), int(rejects)


def latest_reading_time(session: Session) -> dt.datetime | None:
    """The newest ts stored (naive UTC), or None."""
    row = session.fetch_one("SELECT max(ts) FROM sensor_readings")
    return _as_datetime(row[0]) if row and row[0] is not None else None


def reading_totals(session: Session) -> pd.DataFrame:
    """sensor_id, total_count, first_ts, last_ts: over everything stored."""
    frame = session.fetch_df(
        "SELECT sensor_id, count(*) AS total_count, min(ts) AS first_ts, max(ts) AS last_ts "
        "FROM sensor_readings GROUP BY sensor_id ORDER BY sensor_id"
    )
    return _with_utc(_with_utc(frame, "first_ts"), "last_ts")


def read_rejected_readings(session: Session) -> pd.DataFrame:
    return _with_utc(session.fetch_df("SELECT * FROM rejected_readings ORDER BY segment, line_offset"), "ts")


def replace_stats(session: Session, stats: pd.DataFrame, run_id: str | None) -> None:
    """Swap in the per-sensor stats (columns of ``_STATS_TYPES``)."""
    rows = _naive(stats, "window_start", "first_seen", "last_seen") if not stats.empty else stats
    replace_rows(session, "sensor_stats", rows, _STATS_TYPES, stamps={"updated_at": utc_now(), "run_id": run_id})


def read_stats(session: Session) -> pd.DataFrame:
    frame = session.fetch_df("SELECT * FROM sensor_stats ORDER BY sensor_id")
    for column in ("window_start", "first_seen", "last_seen"):
        frame = _with_utc(frame, column)
    return frame


def replace_smoothed(session: Session, smoothed: pd.DataFrame, run_id: str | None) -> None:
    """Swap in the smoothed series (sensor_id, ts, value, smoothed, smoothing_window)."""
    rows = _naive(smoothed, "ts") if not smoothed.empty else smoothed
    replace_rows(session, "sensor_smoothed", rows, _SMOOTHED_TYPES, stamps={"created_at": utc_now(), "run_id": run_id})


def read_smoothed(session: Session, sensor_id: str | None = None, start: dt.datetime | None = None) -> pd.DataFrame:
    where = _times("ts", start).equal("sensor_id", sensor_id)
    sql, params = f"SELECT * FROM sensor_smoothed{where.where}", where.params
    return _with_utc(session.fetch_df(sql + " ORDER BY sensor_id, ts", params), "ts")


def insert_new_anomalies(session: Session, anomalies: pd.DataFrame, run_id: str | None) -> pd.DataFrame:
    """Add the anomalies not recorded yet (key sensor_id, ts); returns those new ones."""
    if anomalies.empty:
        return anomalies.iloc[0:0]
    session.load_frame("staged_anomalies", _naive(anomalies, "ts"), _ANOMALY_TYPES)
    new_only = "WHERE NOT EXISTS (SELECT 1 FROM sensor_anomalies a WHERE a.sensor_id = s.sensor_id AND a.ts = s.ts)"
    new = session.fetch_df(
        f"SELECT s.* FROM staged_anomalies s {new_only} ORDER BY s.sensor_id, s.ts"
    )
    names = ", ".join(f"s.{name}" for name in _ANOMALY_TYPES)
    session.execute(
        f"INSERT INTO sensor_anomalies ({', '.join(_ANOMALY_TYPES)}, detected_at, run_id) "
        f"SELECT {names}, ?, ? FROM staged_anomalies s {new_only}",
        (utc_now(), run_id),
    )
    return _with_utc(new, "ts")


def read_anomalies(session: Session, sensor_id: str | None = None, start: dt.datetime | None = None) -> pd.DataFrame:
    where = _times("ts", start).equal("sensor_id", sensor_id)
    sql, params = f"SELECT * FROM sensor_anomalies{where.where}", where.params
    return _with_utc(session.fetch_df(sql + " ORDER BY sensor_id, ts", params), "ts")


def read_readings_thinned(session: Session, start: dt.datetime, end: dt.datetime, every: dt.timedelta) -> pd.DataFrame:
    """sensor_id, ts (UTC), value of the first reading of each sensor in every ``every`` bucket of
    ``start <= ts < end`` (epoch-aligned, so the same readings whoever asks): a uniform subsample,
    for history that only feeds statistics on a fast stream."""
    seconds = max(1, int(pd.Timedelta(every).total_seconds()))
    where = _times("ts", start).add("ts < ?", _as_datetime(end))
    params = where.params
    firsts = (
        f"SELECT sensor_id, min(ts) AS ts FROM sensor_readings{where.where} "
        f"GROUP BY sensor_id, floor(extract(epoch FROM ts) / {seconds})"
    )
    frame = session.fetch_df(
        f"SELECT r.sensor_id, r.ts, r.value FROM sensor_readings r JOIN ({firsts}) f "
        "ON r.sensor_id = f.sensor_id AND r.ts = f.ts ORDER BY r.sensor_id, r.ts",
        params,
    )
    return _with_utc(frame, "ts")


_ALARM_TIMES = ("start_ts", "end_ts", "peak_ts")


def _alarm_types() -> dict[str, str]:
    """sensor_alarms' columns as its migration defines them, less the bookkeeping ones written here."""
    from tsplatform.warehouse import catalog

    bookkeeping = ("detected_at", "updated_at", "run_id")
    return {c.name: c.type for c in catalog.table_columns("sensor_alarms") if c.name not in bookkeeping}


def latest_alarms(session: Session) -> pd.DataFrame:
    """Each sensor's most recent alarm (the one a new anomalous reading may still continue)."""
    frame = session.fetch_df(
        "SELECT a.* FROM sensor_alarms a JOIN (SELECT sensor_id, max(start_ts) AS start_ts FROM sensor_alarms "
        "GROUP BY sensor_id) m ON a.sensor_id = m.sensor_id AND a.start_ts = m.start_ts ORDER BY a.sensor_id"
    )
    return _alarm_times(frame)


def record_alarms(session: Session, alarms: pd.DataFrame, run_id: str | None) -> None:
    """Store alarms (the columns of sensor_alarms but the bookkeeping ones, and ``continued``):
    a continued alarm updates its row (end, peak, readings, updated_at), a new one is inserted
    unless its (sensor_id, start_ts) is already there."""
    if alarms.empty:
        return
    types = _alarm_types()
    now = utc_now()
    staged = _naive(alarms, *_ALARM_TIMES)
    continued = staged[staged["continued"].astype(bool)][list(types)]
    if len(continued):
        session.load_frame("staged_continued_alarms", continued, types)
        changed = [name for name in types if name not in ("sensor_id", "start_ts")]
        session.execute(
            f"UPDATE sensor_alarms AS a SET {', '.join(f'{name} = s.{name}' for name in changed)}, updated_at = ? "
            "FROM staged_continued_alarms s WHERE a.sensor_id = s.sensor_id AND a.start_ts = s.start_ts",
            (now,),
        )
    new = staged[~staged["continued"].astype(bool)][list(types)]
    if len(new):
        session.load_frame("staged_new_alarms", new, types)
        names = ", ".join(types)
        session.execute(
            f"INSERT INTO sensor_alarms ({names}, detected_at, updated_at, run_id) "
            f"SELECT {', '.join(f's.{name}' for name in types)}, ?, ?, ? FROM staged_new_alarms s WHERE NOT EXISTS "
            "(SELECT 1 FROM sensor_alarms a WHERE a.sensor_id = s.sensor_id AND a.start_ts = s.start_ts)",
            (now, now, run_id),
        )


def read_alarms(session: Session, sensor_id: str | None = None, start: dt.datetime | None = None) -> pd.DataFrame:
    """Alarms in start order; ``start``: those still running at or after it (end_ts >= start)."""
    where = _times("end_ts", start).equal("sensor_id", sensor_id)
    sql, params = f"SELECT * FROM sensor_alarms{where.where}", where.params
    return _alarm_times(session.fetch_df(sql + " ORDER BY start_ts, sensor_id", params))


def _alarm_times(frame: pd.DataFrame) -> pd.DataFrame:
    for column in _ALARM_TIMES + ("detected_at", "updated_at"):
        frame = _with_utc(frame, column)
    return frame


def replace_forecast(session: Session, forecast: pd.DataFrame, run_id: str | None) -> None:
    """Swap in every sensor's forecast (columns of ``_FORECAST_TYPES``): readers never see a mix."""
    rows = _naive(forecast, "ds") if not forecast.empty else forecast
    replace_rows(session, "sensor_forecast", rows, _FORECAST_TYPES, stamps={"created_at": utc_now(), "run_id": run_id})


def read_forecast(session: Session, sensor_id: str | None = None) -> pd.DataFrame:
    if sensor_id is None:
        frame = session.fetch_df("SELECT * FROM sensor_forecast ORDER BY sensor_id, ds")
    else:
        frame = session.fetch_df("SELECT * FROM sensor_forecast WHERE sensor_id = ? ORDER BY ds", (sensor_id,))
    return _with_utc(frame, "ds")


def _times(column: str, start=None, end=None) -> Conditions:
    """``start <= column <= end`` as naive UTC parameters, either end open when None."""
    return Conditions().between(column, _as_datetime(start) if start is not None else None,
                                _as_datetime(end) if end is not None else None)


def _as_datetime(moment) -> dt.datetime:
    """A naive UTC ``datetime`` for a query parameter (from aware or naive input)."""
    stamp = pd.Timestamp(moment)
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _naive(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = naive_utc(frame[column]).to_numpy()
    return frame


def _with_utc(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    if column in frame.columns:
        frame[column] = pd.to_datetime(frame[column]).dt.as_unit("ns").dt.tz_localize("UTC")
    return frame
