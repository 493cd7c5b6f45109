"""Where things live. Every data path derives from ``TSPLATFORM_DATA_DIR`` so a test, a container
and a laptop can each point the whole platform somewhere else with one variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPaths:
    """The folders of one data directory; created on demand by ``ensure``."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def duplicates(self) -> Path:
        return self.root / "duplicates"

    @property
    def rejected_files(self) -> Path:
        """Files that were not accepted as uploads at all (unsafe names, symlinks, too large)."""
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def stream(self) -> Path:
        return self.root / "stream"

    @property
    def sample(self) -> Path:
        return self.root / "sample"

    @property
    def default_warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def ensure(self) -> "DataPaths":
        for folder in (self.landing, self.uploads, self.duplicates, self.rejected_files, self.reports, self.stream):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def data_paths() -> DataPaths:
    """The data folders, read from the environment each call (tests change it per test)."""
    return DataPaths(Path(os.environ.get("TSPLATFORM_DATA_DIR", "data")).resolve())


def warehouse_url() -> str:
    """``TSPLATFORM_WAREHOUSE_URL``, defaulting to the embedded DuckDB file in the data folder."""
    return os.environ.get("TSPLATFORM_WAREHOUSE_URL") or f"duckdb:///{data_paths().default_warehouse}"
