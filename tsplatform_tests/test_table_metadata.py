"""Every invoice and stream table asset describes its table in Dagster: column schema (from the
migrations, equal to the real table on both backends), table name, storage kind, owners, tags."""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from tsplatform.definitions import defs
from tsplatform.defs.table_metadata import column_schema
from tsplatform.warehouse import catalog

TABLE_ASSETS = {
    "invoice_data": "invoices",
    "rejected_rows": "invoices",
    "upload_metadata": "invoices",
    "sensor_readings": "sensor_stream",
    "rejected_readings": "sensor_stream",
    "sensor_stats": "sensor_stream",
    "sensor_smoothed": "sensor_stream",
    "sensor_anomalies": "sensor_stream",
    "sensor_forecast": "sensor_stream",
}


def spec_of(definitions: dg.Definitions, table: str) -> dg.AssetSpec:
    key = dg.AssetKey(table)
    return definitions.resolve_assets_def(key).specs_by_key[key]


def test_every_table_asset_has_columns_table_name_owners_and_tags():
    definitions = defs()
    for table, domain in TABLE_ASSETS.items():
        spec = spec_of(definitions, table)
        schema = spec.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in catalog.table_columns(table)], table
        assert all(c.type for c in schema.columns), table
        assert spec.metadata["dagster/table_name"] == table
        assert "team:data-platform" in spec.owners, table
        assert spec.tags.get("domain") == domain, table
        assert {"duckdb", "postgres"} & set(spec.kinds), table


@pytest.mark.parametrize(
    "url, kind",
    [("duckdb:///tmp/somewhere/warehouse.duckdb", "duckdb"), ("postgresql://postgres@127.0.0.1:5432/postgres", "postgres")],
)
def test_the_storage_kind_follows_the_configured_warehouse(url, kind):
    """The kind is read when the code location loads (a fresh process, as the code server is)."""
    code = (
        "import json, dagster as dg; from tsplatform.definitions import defs; d = defs(); "
        f"print(json.dumps({{t: sorted(d.resolve_assets_def(dg.AssetKey(t)).specs_by_key[dg.AssetKey(t)].kinds) "
        f"for t in {sorted(TABLE_ASSETS)!r}}}))"
    )
    env = {**os.environ, "TSPLATFORM_WAREHOUSE_URL": url}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    kinds = json.loads(output.strip().splitlines()[-1])
    other = {"duckdb", "postgres"} - {kind}
    for table, table_kinds in kinds.items():
        assert kind in table_kinds and not other & set(table_kinds), (table, table_kinds)


def test_the_column_schema_is_the_real_table(warehouse):
    """Parsed from the migrations, checked against the tables the migrations really create."""
    with warehouse.transaction() as session:
        for table in TABLE_ASSETS:
            real = session.fetch_all(
                "SELECT column_name, is_nullable FROM information_schema.columns "
                "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
                (table,),
            )
            described = [(c.name, "YES" if c.constraints.nullable else "NO") for c in column_schema(table).columns]
            assert described == [(name, nullable) for name, nullable in real], table


def test_descriptions_must_name_real_columns():
    with pytest.raises(ValueError, match="does not have"):
        column_schema("invoice_data", {"no_such_column": "text"})
