"""Where things live. Every data path derives from ``TSPLATFORM_DATA_DIR`` so a test, a container
and a laptop can each point the whole platform somewhere else with one variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

API_PORT_VARIABLE = "TSPLATFORM_API_PORT"
DEFAULT_API_PORT = 8000
PUBLIC_URL_VARIABLE = "TSPLATFORM_PUBLIC_URL"
CHARTS_PATH = "/charts"  # where ``tsplatform serve`` serves the reports folder


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

    def ensure(self) -> DataPaths:
        for folder in (self.landing, self.uploads, self.duplicates, self.rejected_files, self.reports, self.stream):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def data_paths() -> DataPaths:
    """The data folders, read from the environment each call (tests change it per test)."""
    return DataPaths(Path(os.environ.get("TSPLATFORM_DATA_DIR", "data")).resolve())


def warehouse_url() -> str:
    """``TSPLATFORM_WAREHOUSE_URL``, defaulting to the embedded DuckDB file in the data folder."""
    return os.environ.get("TSPLATFORM_WAREHOUSE_URL") or f"duckdb:///{data_paths().default_warehouse}"


def number_setting(variable: str, default: int | float | None, unit: str, *, minimum: float = 0, whole: bool = True):
    """A number from the environment (``default`` when unset or blank; None lets the caller tell
    "not set" from any number): an int when ``whole``, else a float; a ValueError naming the
    variable and its ``unit`` when it is not one, or below ``minimum``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise ValueError(f"{variable} must be a {'whole ' if whole else ''}number of {unit}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{variable} must be at least {minimum:g} {unit}, got {text!r}")
    return value


def api_port() -> int:
    """``TSPLATFORM_API_PORT``: the port ``tsplatform serve`` listens on by default (8000)."""
    text = os.environ.get(API_PORT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_API_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{API_PORT_VARIABLE} must be a port number (1-65535), got {text!r}")
    return int(text)


def public_url() -> str:
    """``TSPLATFORM_PUBLIC_URL``: where a browser reaches ``tsplatform serve`` (default
    ``http://127.0.0.1:$TSPLATFORM_API_PORT``); asset metadata links point there."""
    return (os.environ.get(PUBLIC_URL_VARIABLE, "").strip() or f"http://127.0.0.1:{api_port()}").rstrip("/")


def report_url(page: str | os.PathLike, reports: str | os.PathLike | None = None) -> str:
    """The address of a file of the reports folder as ``tsplatform serve`` serves it: the link
    the Dagster UI shows, so a click opens the chart rather than a path on the server's disk."""
    root = Path(reports if reports is not None else data_paths().reports).resolve()
    relative = Path(page).resolve().relative_to(root).as_posix()
    return f"{public_url()}{CHARTS_PATH}/{quote(relative)}"
