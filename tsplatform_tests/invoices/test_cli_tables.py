"""The read commands as a person and a script see them: subprocesses on one real warehouse file.

Tables fit the terminal (80 columns when piped), shorten hashes and long ids, and never pass a
stored control character to the terminal; csv and json keep every value whole, csv with formula
cells neutralised. ``tsplatform rejected`` lists refused lines and why. The read commands do not
import Dagster (its import is most of a second).
"""

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tsplatform_tests.conftest import csv_text

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")
LONG_FILE = "north_region_store_export_of_the_whole_year_2024.csv"
HOSTILE_LINES = [  # (line in the file, raw values): every one is refused
    '2024-01-01,"=cmd|\' /C calc\'!A0",Toys,x',
    '2024-01-03,p2,"@SUM(1+1)",+1+2',
    "2024-01-04,p3,\x1b[31mred,bad",
    "2024-01-05,p4,Games,-5",
]
READ_COMMANDS = [["uploads"], ["invoices"], ["forecasts"], ["rejected"]]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A data folder with three ingested uploads (one with four hostile refused lines, two whose
    batch ids begin alike) and the stored forecasts of one category."""
    root = tmp_path_factory.mktemp("tables")
    environment = {**os.environ, "TSPLATFORM_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(root / "dagster_home")}
    environment.pop("TSPLATFORM_WAREHOUSE_URL", None)
    environment.pop("COLUMNS", None)
    (root / LONG_FILE).write_text(csv_text("2024-01-01,p1,Books,1", "2024-01-02,p1,Books,2", *HOSTILE_LINES))
    (root / "clean.csv").write_text(csv_text("2024-02-01,p9,Books,3"))
    (root / "clean_copy.csv").write_text(csv_text("2024-02-02,p9,Books,4"))
    for name in (LONG_FILE, "clean.csv", "clean_copy.csv"):
        _run(environment, "upload", str(root / name))
    _run(environment, "ingest")
    _store_forecasts(root / "data" / "warehouse.duckdb")
    return environment


def _store_forecasts(database: Path) -> None:
    from tsplatform.warehouse import forecasts as forecast_table
    from tsplatform.warehouse import open_warehouse

    days = pd.date_range("2024-02-02", periods=5, freq="D")
    frame = pd.DataFrame({"model": ["theta"] * 5 + ["naive"] * 5, "ds": list(days) * 2, "yhat": 2.0, "lower": 1.0,
                          "upper": 3.0, "flag": ["no_model_beats_seasonal_naive"] * 5 + [None] * 5})
    with open_warehouse(f"duckdb:///{database}").transaction() as session:
        forecast_table.replace_category_forecasts(
            session, "Books", forecast_table.forecast_rows(frame, "theta", 0.95), pd.DataFrame(), str(uuid.uuid4())
        )


def _run(environment, *args, columns=None, check=True):
    if columns is not None:
        environment = {**environment, "COLUMNS": str(columns)}
    result = subprocess.run([TSPLATFORM, *args], env=environment, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"tsplatform {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _json(environment, *args):
    return json.loads(_run(environment, *args, "--format", "json").stdout)


def _batches(environment) -> dict[str, str]:
    return {u["original_filename"]: u["batch_num"] for u in _json(environment, "uploads")}


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_tables_fit_80_columns_and_grow_with_the_terminal(env, command):
    narrow = _run(env, *command).stdout  # piped, no COLUMNS: 80
    assert len(narrow.splitlines()) >= 2
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
    assert narrow == _run(env, *command, columns=80).stdout
    wide = _run(env, *command, columns=250).stdout
    assert max(len(line) for line in wide.splitlines()) > 80, wide
    assert "\x1b" not in narrow + wide  # a stored escape sequence never reaches the terminal


def test_long_ids_are_cut_in_the_table_and_whole_in_csv_and_json(env):
    [upload] = [u for u in _json(env, "uploads") if u["original_filename"] == LONG_FILE]
    batch, digest = upload["batch_num"], upload["file_hash"]
    assert len(digest) == 64 and len(batch) > 40 and len(upload["run_id"]) == 36

    table = _run(env, "invoices").stdout
    assert digest[:8] in table and digest[:9] not in table
    assert batch not in table and "…" in table
    assert batch in _run(env, "uploads", columns=250).stdout  # cut for the width, not always
    assert digest in _run(env, "invoices", "--format", "csv").stdout
    assert {r["file_hash"] for r in _json(env, "invoices") if r["batch_num"] == batch} == {digest}
    [forecast] = _json(env, "forecasts", "--limit", "1")
    assert forecast["run_id"] not in _run(env, "forecasts").stdout and len(forecast["run_id"]) == 36


def test_rejected_lists_every_refused_line_with_its_reason(env):
    batch = _batches(env)[LONG_FILE]
    rows = _json(env, "rejected")
    assert [(r["batch_num"], r["line_number"]) for r in rows] == [(batch, n) for n in (4, 5, 6, 7)]
    assert {r["raw_sales"] for r in rows} == {"x", "+1+2", "bad", "-5"}
    assert all(r["reason"] for r in rows)
    assert "is negative" in rows[-1]["reason"] and "'x'" in rows[0]["reason"]

    table = _run(env, "rejected", "--batch", batch).stdout.splitlines()
    assert table[0].split() == ["line", "reason"] and len(table) == 5  # header + 4, no batch column
    assert table[1].split()[0] == "4" and "'x'" in table[1]
    assert len(_json(env, "rejected", "--batch", batch, "--limit", "2")) == 2
    assert _json(env, "rejected", "--batch", batch[:12]) == rows  # a prefix the table shows will do


def test_rejected_csv_neutralises_formulas_and_json_keeps_them(env):
    records = list(csv.DictReader(io.StringIO(_run(env, "rejected", "--format", "csv").stdout)))
    assert [r["raw_product_id"] for r in records][0] == "'=cmd|' /C calc'!A0"
    assert records[1]["raw_category"] == "'@SUM(1+1)" and records[1]["raw_sales"] == "'+1+2"
    assert records[3]["raw_sales"] == "'-5"
    assert not any(value.startswith(("=", "+", "-", "@")) for r in records for value in r.values())
    assert [r["raw_category"] for r in _json(env, "rejected")][1:3] == ["@SUM(1+1)", "\x1b[31mred"]


def test_rejected_tells_an_unknown_batch_from_a_batch_without_rejected_rows(env):
    unknown = _run(env, "rejected", "--batch", "42", check=False)
    assert unknown.returncode == 1 and "no batch '42'" in unknown.stderr and unknown.stdout == ""

    clean = _batches(env)["clean.csv"]
    empty = _run(env, "rejected", "--batch", clean)
    assert empty.stdout == "" and f"no rejected rows in batch {clean}" in empty.stderr
    assert _json(env, "rejected", "--batch", clean) == []

    ambiguous = _run(env, "rejected", "--batch", "clean_", check=False)  # clean_<time>_<hash>, clean_copy_...
    assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr and clean in ambiguous.stderr


def test_a_read_command_without_a_warehouse_says_so(tmp_path):
    environment = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data")}
    environment.pop("TSPLATFORM_WAREHOUSE_URL", None)
    result = _run(environment, "uploads", check=False)
    assert result.returncode == 1 and "no warehouse" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # a read creates nothing


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_do_not_import_dagster(env, command):
    code = (
        "import sys\n"
        "from tsplatform.cli import main\n"
        f"main({command!r}, standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_duckdb', 'psycopg')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # it did read and print rows
    assert result.stderr.strip().splitlines()[-1] == "[]"
