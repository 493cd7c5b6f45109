"""One upload, from raw file to the rows that go into the warehouse, with every count accounted for.

Pure: no Dagster, no database. The caller passes the last-known-sales lookup and writes the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsplatform.ingest.imputation import LastKnownLookup, impute_missing_sales, merge_duplicate_keys
from tsplatform.ingest.options import UploadOptions
from tsplatform.ingest.reading import read_upload
from tsplatform.ingest.timings import stage
from tsplatform.ingest.validation import validate_rows


@dataclass
class PreparedBatch:
    rows: pd.DataFrame  # one row per key: date, product_id, category, sales, is_imputed, line_number
    rejected: pd.DataFrame  # line_number, raw_*, raw_record, reason
    num_total_rows: int
    num_rejected_rows: int
    num_missing_rows: int  # keys (after merging their lines) with no sales in the file
    num_imputed_rows: int  # of those, the keys filled; the others keep the real value already stored
    num_duplicate_key_rows: int
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "num_total_rows": self.num_total_rows,
            "num_rejected_rows": self.num_rejected_rows,
            "num_missing_rows": self.num_missing_rows,
            "num_imputed_rows": self.num_imputed_rows,
            "num_duplicate_key_rows": self.num_duplicate_key_rows,
        }


def prepare_batch(path: Path, options: UploadOptions, last_known: LastKnownLookup | None = None) -> PreparedBatch:
    """Read, validate, merge and impute one upload. Raises ``UnreadableUploadError`` for a file
    that is not a table with the required columns (the whole batch fails)."""
    with stage("read"):
        raw = read_upload(path, options)
    with stage("validate"):
        validation = validate_rows(raw, options.date_format, options.allow_negative_sales, options.timezone)
    # Each frame is let go as soon as the next one is made: an upload of millions of rows would
    # otherwise hold its raw text, its validated rows and its merged rows at once.
    num_records, extra_columns, notes = raw.num_records, raw.extra_columns, list(raw.notes)
    del raw
    rejected = validation.rejected
    with stage("impute"):
        # merged first: a blank line beside a line with a value is not a missing day
        merged, num_merged = merge_duplicate_keys(validation.pop_valid())
        del validation
        imputation = impute_missing_sales(merged, last_known)
        del merged
    rows = imputation.rows
    if imputation.num_filled_with_zero:
        notes.append(f"{imputation.num_filled_with_zero} missing sales had no earlier value and were set to 0")
    if imputation.num_kept_stored:
        notes.append(f"{imputation.num_kept_stored} missing sales kept the real value already stored")
    return PreparedBatch(
        rows=rows,
        rejected=rejected,
        num_total_rows=num_records,
        num_rejected_rows=len(rejected),
        num_missing_rows=imputation.num_missing,
        num_imputed_rows=imputation.num_imputed,
        num_duplicate_key_rows=num_merged,
        extra_columns=extra_columns,
        notes=notes,
    )
