"""Shared fixtures: a private data folder, warehouse file and Dagster instance per test."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from tsplatform.settings import DataPaths, warehouse_url
from tsplatform.warehouse import Warehouse, open_warehouse


@pytest.fixture
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return DataPaths(tmp_path / "data").ensure()


@pytest.fixture
def warehouse(data_paths: DataPaths) -> Warehouse:
    return open_warehouse(warehouse_url())


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
