"""Turn an uploaded file into a table of raw text values, or say clearly why it cannot be one.

Nothing here judges the values (that is validation's job); this module only answers "is this a
delimited text table with our required columns?" and keeps, for every record, the line of the
file it started on, so a rejected row can be found in the original file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsplatform.ingest.options import REQUIRED_COLUMNS, UploadOptions, normalize_header

csv.field_size_limit(256 * 1024 * 1024)  # a single huge cell is a row problem, not a parser crash

_ALTERNATIVE_DELIMITERS = (";", "\t", "|", ",")
_MAGIC_NUMBERS = {
    b"\x1f\x8b": "a gzip-compressed file; decompress it and upload the .csv inside",
    b"PK\x03\x04": "a zip archive (or an Excel .xlsx workbook); export it as CSV first",
    b"%PDF": "a PDF document, not CSV text",
    b"\x89PNG": "a PNG image, not CSV text",
}


class UnreadableUploadError(Exception):
    """The file cannot be read as a table with the required columns: the whole batch fails."""


@dataclass
class RawUpload:
    """Raw text of every data record, required columns under their canonical names."""

    rows: pd.DataFrame  # line_number, Date, product_id, category, sales, then extra columns
    header: list[str]
    extra_columns: list[str]
    ragged: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, fields): wrong field count
    notes: list[str] = field(default_factory=list)
    file_columns: list[str] = field(default_factory=list)  # frame column of each header position

    @property
    def num_records(self) -> int:
        return len(self.rows) + len(self.ragged)

    def raw_record(self, position: int) -> str:
        """The whole record at row ``position`` as JSON (header name -> text), for quarantine."""
        values = self.rows.iloc[position]
        return json.dumps({name: values[col] for name, col in zip(self.header, self.file_columns)}, ensure_ascii=False)


def read_upload(path: Path, options: UploadOptions) -> RawUpload:
    data = path.read_bytes()
    text = _decode(data, options.encoding)
    return parse_text(text, options)


def _decode(data: bytes, encoding: str) -> str:
    if not data:
        raise UnreadableUploadError("the file is empty (0 bytes)")
    for magic, description in _MAGIC_NUMBERS.items():
        if data.startswith(magic):
            raise UnreadableUploadError(f"the file is {description}")
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if utf16 and "16" not in encoding:
        raise UnreadableUploadError("the file is UTF-16 text; upload it with --encoding utf-16")
    if "16" not in encoding and "32" not in encoding and b"\x00" in data[:65536]:
        raise UnreadableUploadError("the file contains binary data (NUL bytes), not CSV text")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableUploadError(
            f"the file is not valid {encoding} text (byte 0x{data[error.start]:02x} at offset {error.start}, "
            f"line {line}); re-upload with the right --encoding, e.g. --encoding cp1252 or latin-1"
        ) from error


def parse_text(text: str, options: UploadOptions) -> RawUpload:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter)
    header, header_line = _read_header(reader)
    positions, extra = _map_header(header, options, text)
    notes = []
    if extra:
        notes.append(f"extra columns ignored: {', '.join(extra)}")

    width = len(header)
    records: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, list[str]]] = []
    previous_end = header_line
    try:
        for fields in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line: not a record
            if len(fields) != width:
                ragged.append((start, fields))
                continue
            records.append(fields)
            lines.append(start)
    except csv.Error as error:
        raise UnreadableUploadError(f"line {reader.line_num}: the CSV structure is broken ({error})") from error

    column_names = _column_names(header, positions)
    rows = pd.DataFrame(records, columns=column_names, dtype=object)
    if not records:
        rows = pd.DataFrame({name: pd.Series(dtype=object) for name in column_names})
        notes.append("the file has a header but no data rows")
    rows.insert(0, "line_number", pd.array(lines, dtype="int64"))
    ordered = ["line_number", *REQUIRED_COLUMNS, *[c for c in column_names if c not in REQUIRED_COLUMNS]]
    return RawUpload(
        rows=rows[ordered], header=header, extra_columns=extra, ragged=ragged, notes=notes, file_columns=column_names
    )


def _read_header(reader) -> tuple[list[str], int]:
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                return [f.lstrip("\ufeff") for f in fields], reader.line_num
    except csv.Error as error:
        raise UnreadableUploadError(f"the header cannot be parsed ({error})") from error
    raise UnreadableUploadError("the file has no header row (it is empty or only blank lines)")


def _map_header(header: list[str], options: UploadOptions, text: str) -> tuple[dict[str, int], list[str]]:
    """Position of each required column in the header, and the header names we ignore."""
    mapping = {normalize_header(source): target for source, target in options.column_mapping.items()}
    canonical = {normalize_header(name): name for name in REQUIRED_COLUMNS}
    positions: dict[str, int] = {}
    extra: list[str] = []
    for index, name in enumerate(header):
        key = normalize_header(name)
        target = mapping.get(key) or (canonical.get(key) if key not in mapping else None)
        if target is None:
            extra.append(name)
            continue
        if target in positions:
            raise UnreadableUploadError(
                f"column {target!r} appears twice in the header (columns {positions[target] + 1} and {index + 1})"
            )
        positions[target] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise UnreadableUploadError(_missing_columns_message(missing, header, options, text))
    return positions, extra


def _missing_columns_message(missing: list[str], header: list[str], options: UploadOptions, text: str) -> str:
    message = f"required column(s) missing: {', '.join(missing)}; the header has: {', '.join(map(repr, header))}"
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    wanted = {normalize_header(c) for c in REQUIRED_COLUMNS} | {normalize_header(s) for s in options.column_mapping}
    for delimiter in _ALTERNATIVE_DELIMITERS:
        if delimiter == options.delimiter:
            continue
        names = {normalize_header(f) for f in first_line.split(delimiter)}
        if len(names & wanted) >= len(REQUIRED_COLUMNS):
            return f"{message}. The file seems to use {delimiter!r} as its delimiter; re-upload with --delimiter {delimiter!r}"
    if options.column_mapping:
        return f"{message} (column mapping used: {options.column_mapping})"
    return f"{message}. If the export uses other names, upload it with --columns \"Source Name=Date,...\""


def _column_names(header: list[str], positions: dict[str, int]) -> list[str]:
    """Canonical names for required columns, unique names for the rest (extra headers may repeat)."""
    by_position = {index: name for name, index in positions.items()}
    names: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        chosen = by_position.get(index) or f"extra:{name}"
        while chosen in seen or (index not in by_position and chosen in REQUIRED_COLUMNS):
            chosen = f"{chosen}#{index + 1}"
        seen.add(chosen)
        names.append(chosen)
    return names
