"""Is a completed upload accounted for? Its figures checked against the stored file and the table.

Three sources that do not share code with the parser or the writer:

- the stored file: its SHA-256 is still the registered one, and its data records, as Python's csv
  module reads them (the header is the first non-blank line; blank lines are not records), are
  ``num_total_rows`` (a file without quotes is counted by its lines, the same count, faster);
- the batch's own figures: ``num_total_rows = rejected + duplicate-key + inserted + updated +
  unchanged``, and no more rows imputed than were missing;
- ``invoice_data``: the rows whose ``batch_num`` is this batch are the rows it inserted or updated,
  less at most the rows that batches finished since may have taken over (none when uploads run one at
  a time), plus, for a batch applied again, the rows it had written before (now ``unchanged``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsplatform.ingest.options import read_sidecar
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import accounting as table_accounting
from tsplatform.warehouse import uploads as upload_table


@dataclass(frozen=True)
class UploadAccounting:
    batch_num: str
    num_file_records: int | None  # None: the stored file could not be read
    file_hash_matches: bool
    num_total_rows: int
    num_accounted_rows: int  # rejected + duplicate-key + inserted + updated + unchanged
    num_written_rows: int  # inserted + updated
    num_rows_held: int  # invoice_data rows whose batch_num is this batch
    num_rows_taken_over_at_most: int  # rows of batches that finished after this one started
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return not self.problems

    def figures(self) -> dict[str, int | bool | None]:
        return {
            "num_file_records": self.num_file_records,
            "file_hash_matches": self.file_hash_matches,
            "num_total_rows": self.num_total_rows,
            "num_accounted_rows": self.num_accounted_rows,
            "num_written_rows": self.num_written_rows,
            "num_rows_held_in_invoice_data": self.num_rows_held,
            "num_rows_taken_over_at_most": self.num_rows_taken_over_at_most,
        }


def reconcile_upload(warehouse: Warehouse, batch_num: str, applied_again: bool = False) -> UploadAccounting:
    """Check one completed batch now. ``applied_again``: the batch may have been applied before
    (a reprocess), so rows it counts as unchanged may be its own."""
    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, batch_num)
        if upload is None:
            raise KeyError(f"batch {batch_num} is not registered in upload_metadata")
        held = table_accounting.rows_held_by_batch(session, batch_num)
        since = upload.get("started_at")
        taken_over = table_accounting.rows_of_batches_finished_since(
            session, batch_num, pd.Timestamp(since).to_pydatetime() if since is not None else None
        )
    stored = Path(upload["stored_filename"])
    records, file_problem = _count_stored_records(stored, upload)
    hash_matches = file_problem is None and file_sha256(stored) == upload["file_hash"]
    return accounting(upload, records, file_problem, hash_matches, held, taken_over, applied_again)


def accounting(
    upload: dict,
    num_file_records: int | None,
    file_problem: str | None,
    file_hash_matches: bool,
    rows_held: int,
    rows_taken_over_at_most: int,
    applied_again: bool = False,
) -> UploadAccounting:
    """Compare the figures (pure): every disagreement is a problem, in words."""
    count = {name: int(upload.get(name) or 0) for name in _COUNT_COLUMNS}
    total = count["num_total_rows"]
    accounted = sum(count[name] for name in _ACCOUNTED)
    written = count["num_inserted_rows"] + count["num_updated_rows"]
    problems = []
    if upload.get("status") != "completed":
        problems.append(f"the batch is {upload.get('status')}, not completed")
    if file_problem:
        problems.append(file_problem)
    elif not file_hash_matches:
        problems.append("the stored file changed after registration (its SHA-256 is not the registered one)")
    if num_file_records is not None and num_file_records != total:
        problems.append(f"the stored file has {num_file_records} data records, the batch counted {total}")
    if accounted != total:
        problems.append(
            f"{total} rows, but rejected + duplicate-key + inserted + updated + unchanged = {accounted}"
        )
    if count["num_imputed_rows"] > count["num_missing_rows"]:
        problems.append(f"{count['num_imputed_rows']} rows imputed but only {count['num_missing_rows']} missing")
    lowest = max(written - rows_taken_over_at_most, 0)
    highest = written + (count["num_unchanged_rows"] if applied_again else 0)
    if not lowest <= rows_held <= highest:
        expected = f"{written}" if lowest == highest else f"{lowest}..{highest}"
        problems.append(
            f"invoice_data holds {rows_held} rows of this batch; it wrote {written} (inserted + updated), "
            f"so {expected} were expected"
        )
    return UploadAccounting(
        batch_num=str(upload.get("batch_num")),
        num_file_records=num_file_records,
        file_hash_matches=file_hash_matches,
        num_total_rows=total,
        num_accounted_rows=accounted,
        num_written_rows=written,
        num_rows_held=rows_held,
        num_rows_taken_over_at_most=rows_taken_over_at_most,
        problems=tuple(problems),
    )


def count_file_records(path: Path, encoding: str, delimiter: str) -> int:
    """Data records of a delimited text file, as Python's csv module reads it: rows after the first
    non-blank one (the header), blank rows not counted.

    A file without quote characters, NULs or lone carriage returns has one record per line, so its
    records are counted by line breaks and blank lines (a tenth of the time of the csv module on a
    million lines, in bounded memory); any other file goes through the csv module itself."""
    with open(path, encoding=encoding, newline="") as handle:
        counted = _count_unquoted_records(handle, delimiter)
    if counted is not None:
        return counted
    records = 0
    header_seen = False
    with open(path, encoding=encoding, newline="") as handle:
        for fields in csv.reader(handle, delimiter=delimiter):
            if _is_blank_record(fields):
                continue
            if header_seen:
                records += 1
            elif any(value.strip() for value in fields):
                header_seen = True
    return records


def _is_blank_record(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


_CHUNK_CHARACTERS = 1 << 22


def _count_unquoted_records(handle, delimiter: str) -> int | None:
    """What the csv module counts, for a file where each line is one record whose fields are split
    at every delimiter; None as soon as the file is not such a file (or a line may be longer than
    the csv module accepts), so that the csv module counts it."""
    if delimiter in '"\r\n' or csv.field_size_limit() < 2 * _CHUNK_CHARACTERS:
        return None
    # a blank line: nothing but white space (not the delimiter: "\t\t" is three empty fields)
    blank_line = re.compile(r"\n[^\S\n" + re.escape(delimiter) + r"]*(?=\n)")
    records, header_seen, carry = 0, False, ""
    while True:
        chunk = handle.read(_CHUNK_CHARACTERS)
        if '"' in chunk or "\x00" in chunk:
            return None
        text = carry + chunk
        if chunk:
            cut = text.rfind("\n") + 1
            text, carry = text[:cut], text[cut:]  # whole lines now, the rest with the next chunk
            if len(carry) >= csv.field_size_limit():
                return None
        else:
            carry = ""
        if text.count("\r") != text.count("\r\n") or (text.endswith("\r") and not chunk):
            return None  # a lone carriage return ends a record for the csv module
        if not header_seen:
            text, header_seen = _after_header(text, delimiter)
        if header_seen and text:
            complete = text.count("\n")
            records += complete - len(blank_line.findall("\n" + text))
            if not text.endswith("\n"):  # the last line, without a line break
                records += not _is_blank_record(text[text.rfind("\n") + 1 :].rstrip("\r").split(delimiter))
        if not chunk:
            return records


def _after_header(text: str, delimiter: str) -> tuple[str, bool]:
    """The text after the header line (the first line with a non-blank value), and whether it was found."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        fields = text[start:end].rstrip("\n").rstrip("\r").split(delimiter)
        if not _is_blank_record(fields) and any(value.strip() for value in fields):
            return text[end:], True
        start = end
    return "", False


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _count_stored_records(stored: Path, upload: dict) -> tuple[int | None, str | None]:
    """The stored file's records with the batch's encoding and delimiter (as recorded in
    upload_metadata, else from the sidecar), or the reason it cannot be counted."""
    if not stored.is_file():
        return None, f"the stored file is missing: {stored}"
    try:
        options = read_sidecar(stored)
        encoding = upload.get("encoding") or options.encoding
        delimiter = upload.get("delimiter") or options.delimiter
        return count_file_records(stored, encoding, delimiter), None
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as problem:
        return None, f"the stored file cannot be counted: {problem}"


_ACCOUNTED = ("num_rejected_rows", "num_duplicate_key_rows", "num_inserted_rows", "num_updated_rows", "num_unchanged_rows")
_COUNT_COLUMNS = ("num_total_rows", "num_missing_rows", "num_imputed_rows", *_ACCOUNTED)
