"""``upload_metadata``: one row per upload, whatever became of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from tsplatform.warehouse.base import Session, page_clause, utc_now
from tsplatform.warehouse.schema import UPLOAD_METADATA_COLUMNS

# A file whose hash matches a batch in one of these states is a duplicate; a failed batch's file
# may be uploaded again (with a corrected mapping, say).
_LIVE_STATUSES = ("uploaded", "processing", "completed")


@dataclass(frozen=True)
class NewUpload:
    batch_num: str
    original_filename: str
    stored_filename: str
    file_hash: str
    file_size_bytes: int
    uploaded_at: dt.datetime
    status: str
    column_mapping: str | None = None
    date_format: str | None = None
    timezone: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    duplicate_of: str | None = None
    error_log: str | None = None


def insert_upload(session: Session, upload: NewUpload) -> None:
    fields = {k: v for k, v in upload.__dict__.items()}
    names = ", ".join(fields)
    placeholders = ", ".join("?" for _ in fields)
    session.execute(f"INSERT INTO upload_metadata ({names}) VALUES ({placeholders})", tuple(fields.values()))


def batch_with_hash(session: Session, file_hash: str) -> str | None:
    """The earliest live batch holding a file with this SHA-256, if any."""
    placeholders = ", ".join("?" for _ in _LIVE_STATUSES)
    row = session.fetch_one(
        f"SELECT batch_num FROM upload_metadata WHERE file_hash = ? AND status IN ({placeholders}) "
        "ORDER BY uploaded_at, batch_num LIMIT 1",
        (file_hash, *_LIVE_STATUSES),
    )
    return row[0] if row else None


def get_upload(session: Session, batch_num: str) -> dict | None:
    frame = session.fetch_df("SELECT * FROM upload_metadata WHERE batch_num = ?", (batch_num,))
    if frame.empty:
        return None
    return {k: (None if _is_missing(v) else v) for k, v in frame.iloc[0].to_dict().items()}


def batches_waiting(session: Session) -> list[str]:
    """Batches registered but never started: a run may still be owed to them."""
    return [r[0] for r in session.fetch_all("SELECT batch_num FROM upload_metadata WHERE status = 'uploaded' ORDER BY uploaded_at")]


def batches_processing(session: Session) -> list[tuple[str, str | None]]:
    """(batch, run id) of batches whose processing started and did not finish."""
    return [tuple(r) for r in session.fetch_all(
        "SELECT batch_num, run_id FROM upload_metadata WHERE status = 'processing' ORDER BY uploaded_at"
    )]


def claim_for_processing(session: Session, batch_num: str, run_id: str | None, reprocess: bool = False) -> str:
    """Mark the batch 'processing' unless it is already completed (a run that lost a race must not
    regress it); returns the status afterwards. The UPDATE takes the row lock first, so on
    PostgreSQL a concurrent claimer waits and then sees the winner's outcome."""
    guard = "" if reprocess else " AND status <> 'completed'"
    session.execute(
        "UPDATE upload_metadata SET status = 'processing', run_id = ?, started_at = ?, error_log = NULL, notes = NULL "
        f"WHERE batch_num = ?{guard}",
        (run_id, utc_now(), batch_num),
    )
    row = session.fetch_one("SELECT status FROM upload_metadata WHERE batch_num = ?", (batch_num,))
    return row[0] if row else "missing"


def mark_completed(session: Session, batch_num: str, counts: dict[str, int], extra_columns: str | None, notes: str | None) -> None:
    """A completed batch has no error: what is worth knowing about it (columns ignored, zero-filled
    sales) goes to ``notes``, and ``error_log`` is cleared."""
    assignments = ", ".join(f"{name} = ?" for name in counts)
    session.execute(
        f"UPDATE upload_metadata SET status = 'completed', {assignments}, extra_columns = ?, notes = ?, error_log = NULL, "
        "finished_at = ? WHERE batch_num = ?",
        (*counts.values(), extra_columns, notes, utc_now(), batch_num),
    )


def mark_failed(session: Session, batch_num: str, error_log: str, counts: dict[str, int] | None = None) -> None:
    """A failed batch keeps zero data rows: the counts say what was seen, not what was written.
    A batch another run completed stays completed."""
    counts = counts or {}
    assignments = "".join(f", {name} = ?" for name in counts)
    session.execute(
        f"UPDATE upload_metadata SET status = 'failed', error_log = ?, finished_at = ?{assignments} "
        "WHERE batch_num = ? AND status <> 'completed'",
        (error_log, utc_now(), *counts.values(), batch_num),
    )


def list_uploads(session: Session, limit: int | None = None, offset: int | None = None) -> pd.DataFrame:
    sql = f"SELECT {', '.join(UPLOAD_METADATA_COLUMNS)} FROM upload_metadata ORDER BY uploaded_at, batch_num"
    return session.fetch_df(sql + page_clause(limit or None, offset))


def _is_missing(value) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
