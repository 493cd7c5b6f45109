"""Turn an uploaded file into a table of raw text values, or say clearly why it cannot be one.

Nothing here judges the values (that is validation's job); this module only answers "is this a
delimited text table with our required columns?" and keeps, for every record, the line of the
file it started on, so a rejected row can be found in the original file.

Two readers, one result. Most exports are plain: no quote characters, so every line is one record.
Those are split by pyarrow's multi-threaded CSV reader (a million rows in a fraction of a second),
each column dictionary-encoded (a pandas categorical: an upload repeats a few hundred dates and a
few thousand products). Anything else (quotes, embedded newlines, lone carriage returns, NUL) goes
through Python's csv module, the reference behaviour the plain reader is tested against.

A plain UTF-8 file (the usual export) is read as bytes only: checked to be UTF-8 piece by piece and
handed to pyarrow as it is, never held as one Python string too (for 5 million lines that string
and its re-encoding were 300 MB of the peak). Other encodings are decoded, then read the same way.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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

    rows: pd.DataFrame  # line_number, Date, product_id, category, sales, then extra columns (text; categorical when plain)
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
        return self.record_json(self.rows.iloc[position])

    def record_json(self, values) -> str:
        """A record (row of ``rows``, or its dict) as JSON: header name -> text, in file order."""
        return json.dumps({name: values[col] for name, col in zip(self.header, self.file_columns)}, ensure_ascii=False)


def read_upload(path: Path, options: UploadOptions) -> RawUpload:
    data = path.read_bytes()
    _refuse_non_text(data, options.encoding)
    if _is_utf8(options.encoding) and _is_plain_data(data, options.delimiter) and _is_valid_utf8(data):
        # a byte-order mark stays: it is on the header line, whose names are read without it
        parsed = _parse_plain_upload(data, options)
        if parsed is not None:
            return parsed
        text = _decode(data, options.encoding)
        del data  # the bytes are freed once decoded
        return _parse_with_csv_module_text(text, options)  # the fast reader disagreed with the lines
    text = _decode(data, options.encoding)
    del data
    return parse_text(text, options)


_UTF8_CHECK_PIECE = 1 << 22


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _is_valid_utf8(data: bytes) -> bool:
    """Whether ``data`` decodes as UTF-8, checked in 4 MiB pieces (no whole-file string)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _UTF8_CHECK_PIECE):
            decoder.decode(view[start : start + _UTF8_CHECK_PIECE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False  # ``_decode`` says where, with the whole file's offsets
    return True


def _refuse_non_text(data: bytes, encoding: str) -> None:
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


def _decode(data: bytes, encoding: str) -> str:
    _refuse_non_text(data, encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableUploadError(
            f"the file is not valid {encoding} text (byte 0x{data[error.start]:02x} at offset {error.start}, "
            f"line {line}); re-upload with the right --encoding, e.g. --encoding cp1252 or latin-1"
        ) from error


def parse_text(text: str, options: UploadOptions) -> RawUpload:
    if _is_plain(text, options.delimiter):
        parsed = _parse_plain_upload(text.encode("utf-8"), options)
        if parsed is not None:
            return parsed
    return _parse_with_csv_module_text(text, options)


def _parse_with_csv_module_text(text: str, options: UploadOptions) -> RawUpload:
    header, header_line = _read_header(_reader(text, options))
    positions, extra = _map_header(header, options, _first_line(text))
    column_names = _column_names(header, positions)
    reader = _reader(text, options)
    _read_header(reader)
    rows, ragged = _parse_with_csv_module(reader, header_line, column_names)
    return _raw_upload(rows, ragged, header, extra, column_names)


def _parse_plain_upload(data: bytes, options: UploadOptions) -> RawUpload | None:
    """A plain file's table from its UTF-8 bytes; None if the fast reader disagrees with the line
    structure (the caller then reads it with the csv module)."""
    header, header_line = _read_plain_header(data, options.delimiter)
    positions, extra = _map_header(header, options, _first_line(data[:65536].decode("utf-8", errors="replace")))
    column_names = _column_names(header, positions)
    parsed = _parse_plain(data, header_line, column_names, options.delimiter)
    if parsed is None:
        return None
    rows, ragged = parsed
    return _raw_upload(rows, ragged, header, extra, column_names)


def _raw_upload(rows: pd.DataFrame, ragged: list, header: list[str], extra: list[str], column_names: list[str]) -> RawUpload:
    notes = [f"extra columns ignored: {', '.join(extra)}"] if extra else []
    if rows.empty:
        notes.append("the file has a header but no data rows")
    ordered = ["line_number", *REQUIRED_COLUMNS, *[c for c in column_names if c not in REQUIRED_COLUMNS]]
    return RawUpload(
        rows=rows[ordered], header=header, extra_columns=extra, ragged=ragged, notes=notes, file_columns=column_names
    )


def _first_line(text: str) -> str:
    """The first line of the file, for the message of a header without the required columns."""
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def _parse_with_csv_module(reader, header_line: int, column_names: list[str]) -> tuple[pd.DataFrame, list]:
    """The reference reader: any CSV dialect detail (quotes, newlines in values) handled by ``csv``."""
    width = len(column_names)
    records: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, list[str]]] = []
    previous_end = header_line
    try:
        for fields in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if _is_blank(fields):
                continue  # blank line: not a record
            if len(fields) != width:
                ragged.append((start, fields))
                continue
            records.append(fields)
            lines.append(start)
    except csv.Error as error:
        raise UnreadableUploadError(f"line {reader.line_num}: the CSV structure is broken ({error})") from error

    rows = pd.DataFrame(records, columns=column_names, dtype=object)
    if not records:
        rows = pd.DataFrame({name: pd.Series(dtype=object) for name in column_names})
    rows.insert(0, "line_number", pd.array(lines, dtype="int64"))
    return rows, ragged


def _is_blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


# --- the plain-file fast path --------------------------------------------------------------------


def _is_plain(text: str, delimiter: str) -> bool:
    """True when every physical line is one record and csv would split it at each delimiter:
    no quote character, no NUL, no carriage return except in CRLF line endings."""
    return (
        delimiter.isascii()
        and delimiter not in '"\r\n'
        and '"' not in text
        and "\x00" not in text
        and ("\r" not in text or text.count("\r") == text.count("\r\n"))
        and len(text) < csv.field_size_limit()
    )


def _is_plain_data(data: bytes, delimiter: str) -> bool:
    """``_is_plain`` for UTF-8 bytes (no byte of a multi-byte character is an ASCII one)."""
    return (
        delimiter.isascii()
        and delimiter not in '"\r\n'
        and b'"' not in data
        and b"\x00" not in data
        and (b"\r" not in data or data.count(b"\r") == data.count(b"\r\n"))
        and len(data) < csv.field_size_limit()
    )


def _parse_plain(
    data: bytes, header_line: int, column_names: list[str], delimiter: str
) -> tuple[pd.DataFrame, list] | None:
    """Records of a plain file (its UTF-8 bytes), numbered by their physical line. None if the fast
    reader disagrees with the line structure (then the csv module reads the file)."""
    offset = _offset_after_line(data, header_line)
    if offset >= len(data):
        return _empty_rows(column_names), []
    read = _read_plain_table(memoryview(data)[offset:], len(column_names), delimiter)
    if read is None:
        return None
    table, irregular = read
    lines = data.count(b"\n", offset) + (not data.endswith(b"\n"))
    if irregular or lines != table.num_rows:  # ragged lines, or empty ones pyarrow skipped
        regular_lines, ragged = _plain_irregular_lines(data, offset, header_line + 1, len(column_names), delimiter)
        if len(regular_lines) != table.num_rows:
            return None
        line_numbers = regular_lines
    else:
        ragged = []
        line_numbers = np.arange(header_line + 1, header_line + 1 + table.num_rows, dtype="int64")
    # each Arrow column is freed as soon as it is converted (pyarrow's self_destruct), not at the end
    table = table.rename_columns(column_names)
    rows = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    _release_arrow_memory()
    rows.insert(0, "line_number", line_numbers)
    return rows, ragged


def _release_arrow_memory() -> None:
    """Hand the memory pyarrow's parser kept for reuse back to the system (its pool holds on to
    about three times the table's size after a large read; the rest of the batch needs it more)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _offset_after_line(data: bytes, line: int) -> int:
    """Where line ``line + 1`` starts (lines are LF or CRLF terminated here); len(data) if none."""
    offset = 0
    for _ in range(line):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset


def _read_plain_table(body: memoryview, width: int, delimiter: str):
    """Split ``body`` with pyarrow: every column as dictionary-encoded text, empty cells as ''.
    Returns (table, texts of the lines with another field count), or None if pyarrow gives up."""
    import pyarrow as pa

    irregular: list[str] = []

    def keep_aside(row) -> str:
        irregular.append(row.text)
        return "skip"

    try:
        table = _arrow_read(body, [f"c{i}" for i in range(width)], delimiter, keep_aside)
    except pa.ArrowException:  # e.g. a single line longer than a block: the csv module copes
        return None
    return table, irregular


def _arrow_read(body: memoryview, names: list[str], delimiter: str, on_invalid_row):
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    return arrow_csv.read_csv(
        pa.py_buffer(body),
        read_options=arrow_csv.ReadOptions(column_names=names, block_size=4 << 20),
        parse_options=arrow_csv.ParseOptions(
            delimiter=delimiter,
            quote_char=False,
            escape_char=False,
            double_quote=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
            invalid_row_handler=on_invalid_row,
        ),
        convert_options=arrow_csv.ConvertOptions(
            column_types={name: pa.dictionary(pa.int32(), pa.string()) for name in names},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # ``body`` was encoded from a str just now
        ),
    )


def _plain_irregular_lines(
    data: bytes, offset: int, first_line: int, width: int, delimiter: str
) -> tuple[np.ndarray, list[tuple[int, list[str]]]]:
    """Line numbers of the lines with ``width`` fields, and the ragged ones (blank lines dropped).

    Only used when a plain file has blank or ragged lines: counts delimiters per line with numpy,
    then lets the csv module split the few odd lines, exactly as the reference reader would. The
    file is scanned in windows of whole lines, so the scan's arrays stay small for any file size.
    """
    regular: list[np.ndarray] = []
    ragged: list[tuple[int, list[str]]] = []
    line = first_line
    start = offset
    while start < len(data):
        stop = data.rfind(b"\n", start, start + _SCAN_WINDOW) + 1 if start + _SCAN_WINDOW < len(data) else len(data)
        if stop <= start:  # a line longer than the window: up to its end
            found = data.find(b"\n", start + _SCAN_WINDOW)
            stop = len(data) if found < 0 else found + 1
        fields = _fields_per_line(np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start), delimiter)
        for index in np.flatnonzero(fields.counts != width):
            text = data[start + fields.starts[index] : start + fields.stops[index]].decode("utf-8").removesuffix("\r")
            values = next(csv.reader([text], delimiter=delimiter), [])
            if not _is_blank(values):
                ragged.append((line + int(index), values))
        regular.append(line + np.flatnonzero(fields.counts == width).astype("int64"))
        line += len(fields.counts)
        start = stop
    return (np.concatenate(regular) if regular else np.array([], dtype="int64")), ragged


_SCAN_WINDOW = 8 << 20


@dataclass
class _LineFields:
    starts: np.ndarray  # where each line starts in the window
    stops: np.ndarray  # where it ends (its line break, or the window's end)
    counts: np.ndarray  # its number of fields


def _fields_per_line(window: np.ndarray, delimiter: str) -> _LineFields:
    breaks = np.flatnonzero(window == ord("\n"))
    starts = np.concatenate(([0], breaks + 1))
    stops = np.concatenate((breaks, [len(window)]))
    if starts[-1] == len(window):  # the window ends with a line break: no line after it
        starts, stops = starts[:-1], stops[:-1]
    separators = np.flatnonzero(window == ord(delimiter))
    counts = np.searchsorted(separators, stops) - np.searchsorted(separators, starts) + 1
    return _LineFields(starts, stops, counts)


def _empty_rows(column_names: list[str]) -> pd.DataFrame:
    rows = pd.DataFrame({name: pd.Series(dtype=object) for name in column_names})
    rows.insert(0, "line_number", pd.array([], dtype="int64"))
    return rows


def _reader(text: str, options: UploadOptions):
    return csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter)


def _read_plain_header(data: bytes, delimiter: str) -> tuple[list[str], int]:
    """``_read_header`` for a plain file's UTF-8 bytes, decoding only the lines up to the header."""
    start, number = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        number += 1
        line = data[start:end].decode("utf-8")
        fields = (line.removeprefix("\ufeff") if start == 0 else line).rstrip("\r\n").split(delimiter)
        if any(f.strip() for f in fields):
            return [f.lstrip("\ufeff") for f in fields], number
        start = end
    raise UnreadableUploadError("the file has no header row (it is empty or only blank lines)")


def _read_header(reader) -> tuple[list[str], int]:
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                return [f.lstrip("\ufeff") for f in fields], reader.line_num
    except csv.Error as error:
        raise UnreadableUploadError(f"the header cannot be parsed ({error})") from error
    raise UnreadableUploadError("the file has no header row (it is empty or only blank lines)")


def _map_header(header: list[str], options: UploadOptions, first_line: str) -> tuple[dict[str, int], list[str]]:
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
        raise UnreadableUploadError(_missing_columns_message(missing, header, options, first_line))
    return positions, extra


def _missing_columns_message(missing: list[str], header: list[str], options: UploadOptions, first_line: str) -> str:
    message = f"required column(s) missing: {', '.join(missing)}; the header has: {', '.join(map(repr, header))}"
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
