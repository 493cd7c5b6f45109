"""The ``tsplatform`` command run as a user runs it: a subprocess with its own data folder and instance."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tsplatform_tests.conftest import csv_text

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")


@pytest.fixture
def cli(tmp_path):
    env = {
        **os.environ,
        "TSPLATFORM_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    env.pop("TSPLATFORM_WAREHOUSE_URL", None)

    def run(*args, check=True):
        result = subprocess.run([TSPLATFORM, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"tsplatform {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    return run


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_upload_ingest_and_query(cli, tmp_path):
    source = write(tmp_path, "jan sales.csv", csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,B,2", "2024-01-03,p1,A,x"))
    out = cli("upload", str(source)).stdout
    assert "new content" in out
    landing = tmp_path / "data" / "landing"
    assert [p.name for p in landing.iterdir()] == ["jan sales.csv"]  # no temporary left behind

    ingested = cli("ingest", "--format", "json")
    [batch] = json.loads(ingested.stdout)
    assert batch["status"] == "completed" and batch["num_inserted_rows"] == 2 and batch["num_rejected_rows"] == 1

    uploads = json.loads(cli("uploads", "--format", "json").stdout)
    assert [u["original_filename"] for u in uploads] == ["jan sales.csv"]
    rows = json.loads(cli("invoices", "--category", "A", "--format", "json").stdout)
    assert [(r["product_id"], r["sales"], r["version"]) for r in rows] == [("p1", 1.0, 1)]
    csv_out = cli("invoices", "--start", "2024-01-02", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("date,product_id,category,sales")
    assert len(csv_out.splitlines()) == 2
    assert "completed" in cli("uploads").stdout  # the table for people


def test_upload_says_when_content_is_already_known_and_skip_known_skips(cli, tmp_path):
    source = write(tmp_path, "a.csv", csv_text("2024-01-01,p1,A,1"))
    cli("upload", str(source))
    cli("ingest")
    again = cli("upload", str(source)).stdout
    assert "already uploaded as batch a_" in again
    duplicate = cli("ingest", "--format", "json")
    assert "duplicates batch a_" in duplicate.stderr
    assert "skipped" in cli("upload", "--skip-known", str(source)).stdout


def test_ingest_exits_non_zero_when_a_batch_fails_and_says_why(cli, tmp_path):
    cli("upload", str(write(tmp_path, "broken.csv", "Date;product_id;category;sales\n2024-01-01;p1;A;1\n")))
    result = cli("ingest", "--format", "json", check=False)
    assert result.returncode == 1
    [batch] = json.loads(result.stdout)
    assert batch["status"] == "failed" and "--delimiter ';'" in batch["error_log"]


def test_upload_refuses_a_missing_file_and_a_bad_mapping(cli, tmp_path):
    missing = cli("upload", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr
    source = write(tmp_path, "a.csv", csv_text("2024-01-01,p1,A,1"))
    bad = cli("upload", str(source), "--columns", "Order Date=when", check=False)
    assert bad.returncode != 0 and "not one of Date, product_id, category, sales" in bad.stderr


def test_csv_export_neutralises_formula_cells(cli, tmp_path):
    cli("upload", str(write(tmp_path, "f.csv", csv_text('2024-01-01,p1,"=HYPERLINK(""http://x"")",1'))))
    cli("ingest")
    exported = cli("invoices", "--format", "csv").stdout.splitlines()[1]
    assert "'=HYPERLINK" in exported
    assert json.loads(cli("invoices", "--format", "json").stdout)[0]["category"].startswith("=HYPERLINK")


def test_generate_sales_writes_realistic_files(cli, tmp_path):
    cli("generate-sales", "--out", str(tmp_path / "gen"), "--categories", "2", "--products", "3", "--days", "400")
    files = sorted((tmp_path / "gen").glob("*.csv"))
    assert len(files) == 2
    header = files[0].read_text().splitlines()[0]
    assert header == "Date,product_id,category,sales"


def test_concurrent_uploads_and_ingests_finish_without_lock_errors(cli, tmp_path):
    """Six files and three ingest processes at once, all on one DuckDB file."""
    for i in range(6):
        rows = [f"2024-01-{d:02d},p{i},C{i % 2},{d}" for d in range(1, 29)]
        cli("upload", str(write(tmp_path, f"batch{i}.csv", csv_text(*rows))))
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: cli("ingest", "--format", "json", check=False), range(3)))
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "lock" not in result.stderr.lower() or "Conflicting lock" not in result.stderr
    uploads = json.loads(cli("uploads", "--format", "json").stdout)
    assert len(uploads) == 6 and {u["status"] for u in uploads} == {"completed"}
    assert sum(u["num_inserted_rows"] for u in uploads) == 6 * 28
    rows = json.loads(cli("invoices", "--format", "json").stdout)
    assert len(rows) == 6 * 28 and {r["version"] for r in rows} == {1}
