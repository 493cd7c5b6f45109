"""What every table asset tells Dagster about its table: columns, table name, storage kind, owners, tags.

The column schema is built from the table's columns as the migrations define them
(``tsplatform.warehouse.catalog``), never from a list kept beside the asset. The storage kind follows
the warehouse configured when the code location loads (``TSPLATFORM_WAREHOUSE_URL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg

from tsplatform.defs.resources import WAREHOUSE_IO_MANAGER_KEY, warehouse_storage_kind
from tsplatform.warehouse import catalog

OWNERS = ("team:data-platform",)


def column_schema(table: str, descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """The table's columns (name, SQL type, nullability, primary key); ``descriptions`` adds text to
    some of them and must name real columns."""
    columns = catalog.table_columns(table)
    descriptions = dict(descriptions or {})
    unknown = set(descriptions) - {column.name for column in columns}
    if unknown:
        raise ValueError(f"descriptions of columns that {table} does not have: {sorted(unknown)}")
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                column.name,
                column.type,
                description=descriptions.get(column.name),
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable, other=["primary key"] if column.primary_key else []
                ),
            )
            for column in columns
        ]
    )


def table_asset_attributes(
    table: str,
    domain: str,
    kinds: Iterable[str] = (),
    descriptions: Mapping[str, str] | None = None,
) -> dict:
    """Keyword arguments for ``AssetSpec`` or ``@asset`` of an asset that is the warehouse table ``table``:
    metadata (column schema, table name), kinds (+ duckdb/postgres), owners and a domain tag."""
    return {
        "metadata": {
            "dagster/column_schema": column_schema(table, descriptions),
            "dagster/table_name": table,
        },
        "kinds": {*kinds, warehouse_storage_kind()},
        "owners": list(OWNERS),
        "tags": {"domain": domain},
    }


def table_asset_spec(
    key: dg.AssetKey,
    table: str,
    domain: str,
    *,
    description: str,
    group_name: str,
    kinds: Iterable[str] = (),
    descriptions: Mapping[str, str] | None = None,
    deps: Iterable[dg.AssetKey] = (),
) -> dg.AssetSpec:
    """The ``AssetSpec`` (for a ``multi_asset``) of ``key``, the warehouse table ``table``: the
    attributes of :func:`table_asset_attributes`, stored through the warehouse IO manager."""
    return dg.AssetSpec(
        key,
        deps=list(deps),
        description=description,
        group_name=group_name,
        **table_asset_attributes(table, domain, kinds, descriptions),
    ).with_io_manager_key(WAREHOUSE_IO_MANAGER_KEY)
