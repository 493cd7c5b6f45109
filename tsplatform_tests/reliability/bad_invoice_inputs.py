"""The bad-input corpus for uploads: each case a file as a user might drop it, and what must happen.

Outcomes: ``failed`` (the whole batch, with a reason in upload_metadata.error_log), ``completed``
(with so many rows rejected / stored, a reason in rejected_rows), ``ignored`` (left in landing
untouched, e.g. still being written). In every case every byte of the original is kept.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

HEADER = "Date,product_id,category,sales\n"


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    status: str  # completed | failed | ignored
    message: str = ""  # must appear in the error log (failed) or a rejected row's reason
    rejected: int | None = None
    stored: int | None = None  # rows in invoice_data after the batch
    filename: str = "upload.csv"
    options: dict = field(default_factory=dict)  # upload options written as a sidecar
    fresh: bool = False  # modified just now (a writer may still be busy)
    symlink: bool = False  # landing entry is a symlink to a file outside the data folder


def text(*rows: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return (header.replace("\n", newline) + newline.join(rows) + (newline if rows else "")).encode("utf-8")


GOOD = ("2026-01-01,p1,A,10", "2026-01-02,p1,A,12")

CASES = [
    Case("empty file", b"", "failed", "empty (0 bytes)"),
    Case("only blank lines", b"\n\n \n", "failed", "no header"),
    Case("header only", text(), "completed", rejected=0, stored=0),
    Case("missing column", b"Date,product_id,sales\n2026-01-01,p1,1\n", "failed", "missing: category"),
    Case("reordered columns", b"sales,category,Date,product_id\n5,A,2026-01-01,p1\n", "completed", rejected=0, stored=1),
    Case("duplicated column", b"Date,product_id,category,sales,SALES\n2026-01-01,p1,A,1,2\n", "failed", "appears twice"),
    Case("byte order mark", b"\xef\xbb\xbf" + text(*GOOD), "completed", rejected=0, stored=2),
    Case("windows line endings", text(*GOOD, newline="\r\n"), "completed", rejected=0, stored=2),
    Case("quoted comma in a key", text('2026-01-01,"p,1",A,1'), "completed", rejected=0, stored=1),
    Case("quoted quotes", text('2026-01-01,"p ""one""",A,1'), "completed", rejected=0, stored=1),
    Case("quoted newline", text('2026-01-01,p1,"A\nB",1', "2026-01-02,p1,A,x"), "completed", "is not a number", rejected=1, stored=1),
    Case("latin-1 bytes", "Date,product_id,category,sales\n2026-01-01,p1,Caf\xe9,1\n".encode("latin-1"), "failed", "--encoding"),
    Case("latin-1 with --encoding", "Date,product_id,category,sales\n2026-01-01,p1,Caf\xe9,1\n".encode("latin-1"), "completed",
         rejected=0, stored=1, options={"encoding": "latin-1"}),
    Case("utf-16", text(*GOOD).decode().encode("utf-16"), "failed", "--encoding utf-16"),
    Case("binary file", bytes(range(256)) * 4, "failed", "binary"),
    Case("gzip named .csv", gzip.compress(text(*GOOD)), "failed", "gzip"),
    Case("xlsx named .csv", b"PK\x03\x04" + b"\x00" * 100, "failed", "zip"),
    Case("semicolon delimiter", b"Date;product_id;category;sales\n2026-01-01;p1;A;1\n", "failed", "--delimiter ';'"),
    Case("semicolon with decimal comma", b"Date;product_id;category;sales\n2026-01-01;p1;A;12,5\n2026-01-02;p1;A;3\n",
         "completed", "is not a number", rejected=1, stored=1, options={"delimiter": ";"}),
    Case("quoted thousands separator", text('2026-01-01,p1,A,"1,234.50"'), "completed", "is not a number", rejected=1, stored=0),
    Case("unquoted thousands separator", text("2026-01-01,p1,A,1,234.50", "2026-01-02,p1,A,5"), "completed",
         "fields but the header has", rejected=1, stored=1),
    Case("missing field", text("2026-01-01,p1,A", "2026-01-02,p1,A,5"), "completed", "fields but the header has", rejected=1, stored=1),
    Case("scientific notation", text("2026-01-01,p1,A,1.5e3"), "completed", rejected=0, stored=1),
    Case("NaN sales", text("2026-01-01,p1,A,NaN", *GOOD[1:]), "completed", "is not a number", rejected=1, stored=1),
    Case("inf sales", text("2026-01-01,p1,A,inf", *GOOD[1:]), "completed", "not finite", rejected=1, stored=1),
    Case("empty sales", text("2026-01-01,p1,A,", "2026-01-02,p1,A,3"), "completed", rejected=0, stored=2),
    Case("negative sales", text("2026-01-01,p1,A,-4", *GOOD[1:]), "completed", "negative", rejected=1, stored=1),
    Case("negative sales allowed", text("2026-01-01,p1,A,-4"), "completed", rejected=0, stored=1, options={"allow_negative_sales": True}),
    Case("huge sales", text("2026-01-01,p1,A,1e12", *GOOD[1:]), "completed", "below 1e10", rejected=1, stored=1),
    Case("impossible date", text("2026-02-30,p1,A,1", *GOOD[1:]), "completed", "does not match the date format", rejected=1, stored=1),
    Case("other date format", text("31/01/2026,p1,A,1", *GOOD[1:]), "completed", "does not match the date format", rejected=1, stored=1),
    Case("other date format with --date-format", text("31/01/2026,p1,A,1"), "completed", rejected=0, stored=1,
         options={"date_format": "%d/%m/%Y"}),
    Case("far-future date", text("2999-01-01,p1,A,1", *GOOD[1:]), "completed", "outside the accepted range", rejected=1, stored=1),
    Case("whitespace-padded keys", text("2026-01-01 ,  p1 , A ,1"), "completed", rejected=0, stored=1),
    Case("unicode category", text("2026-01-01,p1,Küche & Café ☕ 日本,1"), "completed", rejected=0, stored=1),
    Case("very long category", text("2026-01-01,p1," + "C" * 300 + ",1", *GOOD[1:]), "completed", "longer than 255", rejected=1, stored=1),
    Case("sql-looking strings", text("2026-01-01,\"1'); DROP TABLE invoice_data;--\",A,1"), "completed", rejected=0, stored=1),
    Case("html-looking strings", text("2026-01-01,p1,<img src=x onerror=alert(1)>,1"), "completed", rejected=0, stored=1),
    Case("spreadsheet formula", text('2026-01-01,p1,"=cmd|\' /C calc\'!A0",1'), "completed", rejected=0, stored=1),
    Case("one megabyte cell", text("2026-01-01,p1," + "x" * 1_000_000 + ",1", *GOOD[1:]), "completed", "longer than 255",
         rejected=1, stored=1),
    Case("fifty megabyte file", (HEADER.strip() + ",note\n").encode()
         + b"".join(f"2026-01-{d % 28 + 1:02d},p{d},A,{d},{'n' * 50_000}\n".encode() for d in range(1_000)),
         "completed", rejected=0, stored=1_000),
    Case("duplicate keys", text("2026-01-01,p1,A,1", "2026-01-01,p1,A,2", "2026-01-01,p1,A,3"), "completed", rejected=0, stored=1),
    Case("blank lines between rows", text("2026-01-01,p1,A,1", "", "", "2026-01-02,p1,A,2"), "completed", rejected=0, stored=2),
    Case("file name with spaces", text(*GOOD), "completed", rejected=0, stored=2, filename="March sales (final).csv"),
    Case("unicode file name", text(*GOOD), "completed", rejected=0, stored=2, filename="ventes_été_日本.csv"),
    Case("dots in file name", text(*GOOD), "completed", rejected=0, stored=2, filename="sales..2026..final.csv"),
    Case("backslash path in file name", text(*GOOD), "completed", rejected=0, stored=2, filename="reports\\..\\..\\etc\\passwd.csv"),
    Case("dot-file", text(*GOOD), "ignored", filename=".hidden.csv"),
    Case("dot-dot name", text(*GOOD), "ignored", filename="..\\..\\etc\\passwd.csv"),
    Case("still being written", text(*GOOD), "ignored", fresh=True),
    Case("partial download suffix", text(*GOOD), "ignored", filename="upload.csv.part"),
    Case("symlink to a file outside", text(*GOOD), "failed", "symbolic link", symlink=True),
    Case("no trailing newline", text(*GOOD).rstrip(b"\n"), "completed", rejected=0, stored=2),
    Case("unterminated quote", text('2026-01-01,p1,"A,1'), "completed", "fields but the header has", rejected=1, stored=0),
]
