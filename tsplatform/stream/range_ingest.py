"""The work of the ingest step, without Dagster: read one cursor range, store it in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tsplatform.stream import Cursor, ReadingSource, ReadResult
from tsplatform.stream.range_planning import range_key, stream_range
from tsplatform.warehouse import Warehouse, stream_tables


@dataclass
class IngestOutcome:
    start: Cursor
    end: Cursor
    result: ReadResult
    counts: stream_tables.StoreCounts
    readings_in_table: int
    rejects_in_table: int

    @property
    def key(self) -> str:
        return range_key(self.start, self.end)


def resolve_range(source: ReadingSource, start_text: str, end_text: str) -> tuple[Cursor, Cursor]:
    """The cursors of run config strings: an empty start is the beginning, an empty end is
    everything readable now (a manual run then re-reads the whole stream, which stores only what
    is missing)."""
    start = source.parse_cursor(start_text)
    end = source.parse_cursor(end_text) if end_text else source.latest_cursor()
    if end < start:
        raise ValueError(f"range end {end} is before its start {start}")
    return start, end


def ingest_range(warehouse: Warehouse, source: ReadingSource, start_text: str, end_text: str, run_id: str | None) -> IngestOutcome:
    start, end = resolve_range(source, start_text, end_text)
    result = source.read_range(start, end)
    assert result.positions is not None, "a range read records each reading's position"
    readings = result.records.assign(
        segment=result.positions["segment"].to_numpy(), line_offset=result.positions["offset"].to_numpy()
    )
    rejects = result.rejects.rename(columns={"offset": "line_offset"})
    with warehouse.transaction() as session:
        counts = stream_tables.store_range(session, stream_range(start, end), readings, rejects, run_id)
        sizes = stream_tables.table_sizes(session)
    return IngestOutcome(start, end, result, counts, *sizes)


def rejects_preview(outcome: IngestOutcome, limit: int = 20) -> str:
    rejects = outcome.result.rejects
    if rejects.empty:
        return "no rejected lines"
    shown = rejects.head(limit).assign(line=lambda f: f["line"].str.slice(0, 80).str.replace("|", "\\|", regex=False))
    return shown.to_markdown(index=False)


def reject_reasons(rejects: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in rejects["reason"].value_counts().items()} if len(rejects) else {}
