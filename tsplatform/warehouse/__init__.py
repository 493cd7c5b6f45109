"""The warehouse: where uploads, invoices, forecasts and sensor readings are stored.

``open_warehouse(url)`` picks the backend from the URL: ``duckdb:///path`` or a plain path for the
embedded DuckDB file, ``postgresql://...`` for PostgreSQL.
"""

from __future__ import annotations

from functools import cache

from tsplatform.warehouse.base import Session, Warehouse, utc_now


def open_warehouse(url: str) -> Warehouse:
    """The warehouse at ``url``, migrated to the current schema (once per process)."""
    return _open_migrated(url)


@cache
def _open_migrated(url: str) -> Warehouse:
    warehouse = backend_for(url)
    warehouse.migrate()
    return warehouse


def backend_for(url: str) -> Warehouse:
    """The backend for ``url``, as it is (not migrated)."""
    path = duckdb_path(url)
    if path is None:
        from tsplatform.warehouse.postgres_backend import PostgresWarehouse

        return PostgresWarehouse(url)
    from tsplatform.warehouse.duckdb_backend import DuckDBWarehouse

    return DuckDBWarehouse(path)


def duckdb_path(url: str) -> str | None:
    """The file of a DuckDB warehouse URL (``duckdb:///path`` or a plain path); None for PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return None
    return url.removeprefix("duckdb:///").removeprefix("duckdb://")


__all__ = ["Session", "Warehouse", "backend_for", "duckdb_path", "open_warehouse", "utc_now"]
