"""What an invoice batch or a stream range holds in its tables now, for the accounting checks.

Read after the write, independently of the counts the writer reported, so a check can compare them
(``tsplatform.ingest.reconciliation``, ``tsplatform.defs.stream.checks``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tsplatform.warehouse.base import Session


def rows_held_by_batch(session: Session, batch_num: str) -> int:
    """Rows of ``invoice_data`` whose current value came from ``batch_num``."""
    row = session.fetch_one("SELECT count(*) FROM invoice_data WHERE batch_num = ?", (batch_num,))
    return int(row[0]) if row else 0


def rows_of_batches_finished_since(session: Session, batch_num: str, since: dt.datetime | None) -> int:
    """Rows now held by other batches that finished at or after ``since``: the most rows that a batch
    started at ``since`` can have lost to newer uploads since it wrote them (0 when nothing ran since)."""
    if since is None:
        return 0
    row = session.fetch_one(
        """
        SELECT count(*) FROM invoice_data i JOIN upload_metadata u ON u.batch_num = i.batch_num
        WHERE i.batch_num <> ? AND u.finished_at >= ?
        """,
        (batch_num, since),
    )
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class SegmentSpan:
    """The byte offsets of the first and last line a stream range read in one segment."""

    segment: str
    first_offset: int
    last_offset: int


def rows_from_stream_lines(
    session: Session,
    spans: list[SegmentSpan],
    sensors: list[str],
    first_ts: dt.datetime | None,
    last_ts: dt.datetime | None,
) -> tuple[int, int]:
    """(rows of sensor_readings, rows of rejected_readings) that came from the lines in ``spans``.
    ``sensors`` and the ts bounds (the range's readings) narrow the readings scan to the key index."""
    if not spans:
        return 0, 0
    where = " OR ".join("(segment = ? AND line_offset BETWEEN ? AND ?)" for _ in spans)
    params = [value for span in spans for value in (span.segment, int(span.first_offset), int(span.last_offset))]
    readings = 0
    if sensors and first_ts is not None and last_ts is not None:
        marks = ", ".join("?" for _ in sensors)
        row = session.fetch_one(
            f"SELECT count(*) FROM sensor_readings WHERE sensor_id IN ({marks}) AND ts BETWEEN ? AND ? AND ({where})",
            (*sensors, first_ts, last_ts, *params),
        )
        readings = int(row[0]) if row else 0
    row = session.fetch_one(f"SELECT count(*) FROM rejected_readings WHERE {where}", params)
    return readings, int(row[0]) if row else 0
