"""Exports whose date column carries a time of day: the invoice key is the calendar day.

A retailer's export lists one line per sale with its time (``2010-12-01 08:26:00``); the lines of one
product on one day become one row with their summed sales. The day is the one in ``--timezone``
(UTC by default): offsets are converted to that zone, naive times are its wall-clock times.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tsplatform.ingest.landing import copy_into_landing
from tsplatform.ingest.options import InvalidOptionsError, UploadOptions, parse_column_mapping, sidecar_path
from tsplatform.ingest.processing import process_batch
from tsplatform.ingest.registration import register_landed_files
from tsplatform.ingest.validation import parse_days
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")

RETAIL_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
RETAIL_MAPPING = "InvoiceDate=Date,StockCode=product_id,Country=category,Quantity=sales"
RETAIL_LINES = (
    "536365,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:26:00,1.85,17850,United Kingdom",
    "536366,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
    "536373,22632,HAND WARMER RED POLKA DOT,12,2010-12-01 09:02:00,1.85,17850,United Kingdom",
    "536520,22632,HAND WARMER RED POLKA DOT,1,2010-12-01 12:43:00,2.10,14729,United Kingdom",
    "536370,22632,HAND WARMER RED POLKA DOT,24,2010-12-01 08:45:00,1.85,12583,France",
    "536597,22632,HAND WARMER RED POLKA DOT,3,2010-12-02 10:03:00,1.85,18011,United Kingdom",
)


def run_cli(*args):
    return subprocess.run([TSPLATFORM, *args], env=dict(os.environ), capture_output=True, text=True, timeout=300)


def stored_days(warehouse) -> dict[tuple[str, str, str], float]:
    with warehouse.transaction() as session:
        invoices = invoice_table.read_invoices(session)
    return {
        (row.date.strftime("%Y-%m-%d"), row.product_id, row.category): row.sales
        for row in invoices.itertuples(index=False)
    }


def test_a_retail_export_with_times_of_day_stores_one_row_per_day_through_the_cli(data_paths, warehouse_url, warehouse, tmp_path):
    source = tmp_path / "online_retail_2010-12-01.csv"
    source.write_text(csv_text(*RETAIL_LINES, header=RETAIL_HEADER))
    uploaded = run_cli("upload", str(source), "--columns", RETAIL_MAPPING, "--date-format", "%Y-%m-%d %H:%M:%S")
    assert uploaded.returncode == 0, uploaded.stderr

    ingested = run_cli("ingest", "--format", "json")
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    [batch] = json.loads(ingested.stdout)
    assert batch["status"] == "completed", batch["error_log"]
    assert batch["error_log"] is None
    assert batch["num_total_rows"] == 6 and batch["num_duplicate_key_rows"] == 3 and batch["num_inserted_rows"] == 3

    assert stored_days(warehouse) == {
        ("2010-12-01", "22632", "United Kingdom"): 25.0,
        ("2010-12-01", "22632", "France"): 24.0,
        ("2010-12-02", "22632", "United Kingdom"): 3.0,
    }
    [upload] = json.loads(run_cli("uploads", "--format", "json").stdout)
    assert upload["timezone"] == "UTC" and upload["date_format"] == "%Y-%m-%d %H:%M:%S"
    assert "extra columns ignored: InvoiceNo, Description, UnitPrice, CustomerID" in upload["notes"]


def register_and_process(data_paths, warehouse, name: str, content: str, options: UploadOptions) -> dict:
    source = data_paths.root / name
    source.write_text(content)
    copy_into_landing(source, data_paths.landing, options)
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)
    process_batch(warehouse, registration.batch_num)
    with warehouse.transaction() as session:
        return upload_table.get_upload(session, registration.batch_num)


def test_a_timestamp_with_an_offset_belongs_to_its_day_in_the_upload_timezone(data_paths, warehouse):
    # 23:30 in New York and 01:00 in Paris are both 2 December in UTC, both 1 December in New York
    lines = ("2010-12-01 23:30:00-05:00,p1,{zone},5", "2010-12-02 01:00:00+01:00,p1,{zone},7")
    with_offset = "%Y-%m-%d %H:%M:%S%z"
    for zone in ("UTC", "America/New_York"):
        upload = register_and_process(
            data_paths, warehouse, f"{zone.replace('/', '_')}.csv",
            csv_text(*(line.format(zone=zone) for line in lines)), UploadOptions(date_format=with_offset, timezone=zone),
        )
        assert upload["status"] == "completed" and upload["timezone"] == zone
    # naive times are wall-clock times of the zone already: 23:30 stays on its day
    upload = register_and_process(
        data_paths, warehouse, "tokyo.csv", csv_text("2010-12-01 23:30:00,p1,Tokyo,2", "2010-12-01 00:10:00,p1,Tokyo,1"),
        UploadOptions(date_format="%Y-%m-%d %H:%M:%S", timezone="Asia/Tokyo"),
    )
    assert upload["timezone"] == "Asia/Tokyo"

    assert stored_days(warehouse) == {
        ("2010-12-02", "p1", "UTC"): 12.0,
        ("2010-12-01", "p1", "America/New_York"): 12.0,
        ("2010-12-01", "p1", "Tokyo"): 3.0,
    }


def test_an_unknown_timezone_is_refused_before_anything_is_written(data_paths, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(csv_text("2024-01-01 10:00:00,p1,A,1"))
    refused = run_cli("upload", str(source), "--date-format", "%Y-%m-%d %H:%M:%S", "--timezone", "Mars/Olympus_Mons")
    bad_delimiter = run_cli("upload", str(source), "--delimiter", ";;")
    assert refused.returncode == bad_delimiter.returncode == 2
    assert "unknown time zone 'Mars/Olympus_Mons'" in refused.stderr
    assert not data_paths.landing.exists() or list(data_paths.landing.iterdir()) == []


def test_a_sidecar_with_an_unknown_timezone_is_refused_at_registration(data_paths, warehouse):
    file = land(data_paths, "a.csv", csv_text("2024-01-01,p1,A,1"))
    sidecar_path(file).write_text(json.dumps({"timezone": "Nowhere/Town"}))
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)
    assert registration.status == "failed" and "unknown time zone 'Nowhere/Town'" in registration.error


def test_the_timezone_travels_in_the_sidecar():
    options = UploadOptions(parse_column_mapping(RETAIL_MAPPING), "%Y-%m-%d %H:%M:%S", timezone="Europe/London")
    assert UploadOptions.from_json(options.validated().to_json()).timezone == "Europe/London"
    assert UploadOptions.from_json("{}").timezone == "UTC"  # a sidecar written before the option
    with pytest.raises(InvalidOptionsError, match="unknown time zone"):
        UploadOptions(timezone="utc+1").validated()


def test_parse_days_truncates_to_the_calendar_day_of_the_zone():
    text = pd.Series(["2010-12-01 08:26:00", "2010-12-01 23:59:59", "2010-12-01", " 2010-12-02 00:00:00 "])
    days = parse_days(text, "%Y-%m-%d %H:%M:%S")
    assert days.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2010-12-01", "2010-12-01"]
    assert pd.isna(days.iloc[2])  # does not match the format: rejected by validation, as before
    assert days.iloc[3] == pd.Timestamp("2010-12-02") and (days.dropna() == days.dropna().dt.normalize()).all()

    moments = pd.Series(["2010-12-01T23:30:00-0500", "2010-12-01T23:30:00+0000"])
    assert parse_days(moments, "%Y-%m-%dT%H:%M:%S%z", "UTC").dt.strftime("%m-%d").tolist() == ["12-02", "12-01"]
    assert parse_days(moments, "%Y-%m-%dT%H:%M:%S%z", "Asia/Kolkata").dt.strftime("%m-%d").tolist() == ["12-02", "12-02"]
    assert parse_days(moments, "%Y-%m-%dT%H:%M:%S%z", "America/Los_Angeles").dt.strftime("%m-%d").tolist() == ["12-01", "12-01"]
    assert parse_days(moments, "%Y-%m-%dT%H:%M:%S%z").dtype == "datetime64[ns]"  # naive: the DATE column's type
