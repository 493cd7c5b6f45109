"""Shared fixtures: a private data folder, warehouse file and Dagster instance per test."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from tsplatform.settings import DataPaths
from tsplatform.warehouse import Warehouse, open_warehouse


@pytest.fixture
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return DataPaths(tmp_path / "data").ensure()


POSTGRES_URL = os.environ.get("TSPLATFORM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request, data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each warehouse test runs on both backends: a DuckDB file, and a private PostgreSQL schema."""
    if request.param == "duckdb":
        url = f"duckdb:///{data_paths.default_warehouse}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    monkeypatch.setenv("TSPLATFORM_WAREHOUSE_URL", url)
    return url


@pytest.fixture
def postgres_schema_url() -> str:
    """A fresh schema on the test server (``TSPLATFORM_TEST_POSTGRES_URL``), dropped afterwards.
    Missing server: skipped locally, a failure in CI."""
    import uuid

    admin = postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def warehouse(warehouse_url: str) -> Warehouse:
    return open_warehouse(warehouse_url)


@pytest.fixture
def instance(tmp_path: Path):
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as test_instance:
        yield test_instance


def land(paths: DataPaths, name: str, content: str | bytes, age_seconds: float = 60) -> Path:
    """Drop a finished file into landing (old enough to count as fully written)."""
    target = paths.landing / name
    target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    past = time.time() - age_seconds
    os.utime(target, (past, past))
    return target


def csv_text(*rows: str, header: str = "Date,product_id,category,sales") -> str:
    return "\n".join([header, *rows]) + "\n"


def postgres_admin():
    """An autocommit connection to the test server; a missing server skips locally, fails in CI."""
    import psycopg

    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL} (TSPLATFORM_TEST_POSTGRES_URL): {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
