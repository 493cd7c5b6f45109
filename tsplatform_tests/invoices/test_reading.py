"""Reading an upload: header matching, encodings, structure problems that fail the whole batch."""

import gzip

import pytest

from tsplatform.ingest.options import UploadOptions, parse_column_mapping
from tsplatform.ingest.reading import UnreadableUploadError, read_upload


def read(tmp_path, content: bytes | str, **options):
    path = tmp_path / "upload.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_upload(path, UploadOptions(**options).validated())


def test_header_is_matched_after_trimming_and_case_folding_and_extra_columns_are_noted(tmp_path):
    raw = read(tmp_path, " DATE ,Product_ID,  Category,SALES,Region\n2024-01-01,p1,A,1,EU\n")
    assert list(raw.rows.columns[:5]) == ["line_number", "Date", "product_id", "category", "sales"]
    assert raw.extra_columns == ["Region"]
    assert raw.notes == ["extra columns ignored: Region"]


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
def test_utf8_with_or_without_bom_and_crlf(tmp_path, prefix):
    raw = read(tmp_path, prefix + "Date,product_id,category,sales\r\n2024-01-01,p1,Café,1\r\n".encode())
    assert raw.rows.loc[0, "category"] == "Café"
    assert raw.rows.loc[0, "sales"] == "1"


def test_line_numbers_follow_the_file_through_blank_lines_and_quoted_newlines(tmp_path):
    text = 'Date,product_id,category,sales\n2024-01-01,p1,"multi\nline",1\n\n2024-01-02,"p,2",A,2\n'
    raw = read(tmp_path, text)
    assert raw.rows["line_number"].tolist() == [2, 5]
    assert raw.rows.loc[1, "product_id"] == "p,2"


def test_rows_with_the_wrong_number_of_fields_are_kept_aside_with_their_line(tmp_path):
    raw = read(tmp_path, "Date,product_id,category,sales\n2024-01-01,p1,A,1,234.50\n2024-01-02,p1,A,2\n")
    assert raw.ragged == [(2, ["2024-01-01", "p1", "A", "1", "234.50"])]
    assert raw.num_records == 2


def test_column_mapping_renames_an_export(tmp_path):
    mapping = parse_column_mapping("Order Date=Date,Product ID=product_id,Category=category,Sales=sales")
    raw = read(tmp_path, "Order Date,Product ID,Category,Sales\n01/31/2024,p1,A,3\n", column_mapping=mapping)
    assert raw.rows.loc[0, ["Date", "product_id", "category", "sales"]].tolist() == ["01/31/2024", "p1", "A", "3"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\n\n  \n", "no header"),
        (gzip.compress(b"Date,product_id,category,sales\n"), "gzip"),
        (b"PK\x03\x04rest", "zip"),
        (b"Date,product_id,category,sales\n2024-01-01,p\x00,A,1\n", "binary"),
        ("Date,product_id,category,sales\n2024-01-01,Caf\xe9,A,1\n".encode("latin-1"), "--encoding"),
        (b"Date,product_id,sales\n2024-01-01,p1,1\n", "required column(s) missing: category"),
        (b"Date;product_id;category;sales\n2024-01-01;p1;A;1\n", "--delimiter ';'"),
        (b"Date,product_id,category,sales,Sales\n", "appears twice"),
        ("Date,product_id,category,sales\n".encode("utf-16"), "utf-16"),
    ],
    ids=["empty", "blank", "gzip", "zip", "nul", "latin1", "missing-column", "semicolon", "duplicate-column", "utf16"],
)
def test_files_that_are_not_our_table_fail_with_a_clear_reason(tmp_path, content, message):
    with pytest.raises(UnreadableUploadError, match=None) as error:
        read(tmp_path, content)
    assert message in str(error.value)


def test_latin1_file_reads_with_the_encoding_option(tmp_path):
    content = "Date,product_id,category,sales\n2024-01-01,p1,Caf\xe9,1\n".encode("latin-1")
    assert read(tmp_path, content, encoding="latin-1").rows.loc[0, "category"] == "Café"


def test_semicolon_file_reads_with_the_delimiter_option(tmp_path):
    raw = read(tmp_path, "Date;product_id;category;sales\n2024-01-01;p1;A;1,5\n", delimiter=";")
    assert raw.rows.loc[0, "sales"] == "1,5"


def test_header_only_is_a_table_with_no_rows(tmp_path):
    raw = read(tmp_path, "Date,product_id,category,sales\n")
    assert raw.num_records == 0
    assert "no data rows" in raw.notes[0]
