"""The warehouse tables as Dagster asset values: ``Definitions.load_asset_value`` and asset inputs.

The table assets write their tables themselves (one transaction per batch, category or range) and
report a ``MaterializeResult``, so there is no value to store: this I/O manager stores nothing and
loads the table from the warehouse through ``tsplatform.read`` (the configured warehouse, one
transaction, waits out DuckDB's file lock). For a partitioned asset it loads the partitions asked
for only: a category's forecasts or metrics, a batch's rejected rows and upload row, and the
``invoice_data`` rows a batch last changed (``batch_num``).

A downstream code location loads our tables the same way::

    forecast_data = dg.AssetSpec("forecast_data").with_io_manager_key(WAREHOUSE_IO_MANAGER_KEY)
    resources = {WAREHOUSE_IO_MANAGER_KEY: WarehouseIOManager()}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from tsplatform import read
from tsplatform.warehouse import Session
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table

WAREHOUSE_IO_MANAGER_KEY = "warehouse_io_manager"


@dataclass(frozen=True)
class TableLoad:
    """How to load one asset: the whole table, and (partitioned assets) one partition's rows."""

    whole: Callable[[], pd.DataFrame]
    partition: Callable[[Session, str], pd.DataFrame] | None = None


def _upload_row(session: Session, batch: str) -> pd.DataFrame:
    uploads = upload_table.list_uploads(session)
    return uploads[uploads["batch_num"] == batch]


# asset key -> how its table is read; every asset whose value is a warehouse table
TABLE_LOADS: dict[str, TableLoad] = {
    "invoice_data": TableLoad(read.invoices, lambda s, batch: invoice_table.read_invoices(s, batch=batch)),
    "rejected_rows": TableLoad(read.rejected_rows, invoice_table.read_rejected_rows),
    "upload_metadata": TableLoad(read.uploads, _upload_row),
    "daily_category_sales": TableLoad(read.daily_category_sales),
    "forecast_data": TableLoad(read.forecasts, lambda s, category: forecast_table.read_forecasts(s, category)),
    "forecast_metrics": TableLoad(read.forecast_metrics, lambda s, category: forecast_table.read_metrics(s, category)),
    "sensor_readings": TableLoad(read.sensor_readings),
    "rejected_readings": TableLoad(read.rejected_readings),
    "sensor_stats": TableLoad(read.sensor_stats),
    "sensor_smoothed": TableLoad(read.sensor_smoothed),
    "sensor_anomalies": TableLoad(read.anomalies),
    "sensor_forecast": TableLoad(read.sensor_forecasts),
}


def load_table(asset: str, partitions: Sequence[str] | None = None) -> pd.DataFrame:
    """The table of ``asset``; with ``partitions``, only their rows (one read transaction for all)."""
    try:
        load = TABLE_LOADS[asset]
    except KeyError:
        raise ValueError(f"{asset} is not a warehouse table asset (tables: {', '.join(TABLE_LOADS)})") from None
    if partitions is None:
        return load.whole()
    if load.partition is None:
        raise ValueError(f"{asset} is not partitioned: load it without a partition key")
    keys, load_partition = list(partitions), load.partition
    frames = read.run(lambda session: [load_partition(session, key) for key in keys])
    if not frames:
        return load.whole().iloc[0:0]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Loads the table assets from the warehouse; their steps write the tables, so output stores nothing."""

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        # Dagster does not call this for a MaterializeResult without a value; None is the same: written
        if obj is None or isinstance(obj, dg.MaterializeResult):
            return
        raise TypeError(
            f"{context.asset_key.to_user_string()} is a warehouse table its step writes itself; "
            f"return a MaterializeResult (or None), not a {type(obj).__name__}"
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        partitions = context.asset_partition_keys if context.has_asset_partitions else None
        return load_table(context.asset_key.to_user_string(), partitions)
