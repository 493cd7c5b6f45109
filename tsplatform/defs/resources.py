"""Resources shared by every domain: the warehouse, the data folder and the warehouse I/O manager.

All default to the environment (``TSPLATFORM_WAREHOUSE_URL``, ``TSPLATFORM_DATA_DIR``) so the
same code location runs on the embedded DuckDB file or on PostgreSQL without a code change. Table
assets name ``WAREHOUSE_IO_MANAGER_KEY``: their value is their table, loaded from the warehouse.
"""


from pathlib import Path

import dagster as dg

from tsplatform import settings
from tsplatform.dagster_io import WAREHOUSE_IO_MANAGER_KEY, WarehouseIOManager
from tsplatform.warehouse import Warehouse, open_warehouse

WAREHOUSE_WRITER_POOL = "warehouse_writer"  # DuckDB allows one writer process: writers share a pool of 1


def warehouse_storage_kind(url: str | None = None) -> str:
    """The Dagster kind of the warehouse at ``url`` (default: the configured one): duckdb or postgres."""
    url = url or settings.warehouse_url()
    return "postgres" if url.startswith(("postgresql://", "postgres://", "postgresql+")) else "duckdb"


class WarehouseResource(dg.ConfigurableResource):
    """The project's tables. ``url``: ``duckdb:///path`` or ``postgresql://...``; empty = environment."""

    url: str | None = None

    def open(self) -> Warehouse:
        return open_warehouse(self.url or settings.warehouse_url())


class DataFolderResource(dg.ConfigurableResource):
    """Landing, uploads, reports and stream folders. ``path`` empty = ``TSPLATFORM_DATA_DIR`` or ./data."""

    path: str | None = None

    def paths(self) -> settings.DataPaths:
        if self.path:
            return settings.DataPaths(Path(self.path).resolve()).ensure()
        return settings.data_paths().ensure()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "data_folder": DataFolderResource(),
            WAREHOUSE_IO_MANAGER_KEY: WarehouseIOManager(),
        }
    )
