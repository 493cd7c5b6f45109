"""The shipped sample uploads (data/sample/): what the documented command writes, and a store export
that continues every category's series without a level break where it takes over."""

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tsplatform.cli.samples import generate_sales
from tsplatform.ingest.batch import prepare_batch
from tsplatform.ingest.options import UploadOptions, parse_column_mapping
from tsplatform.sample_data import STORE_EXPORT_DATE_FORMAT, STORE_EXPORT_MAPPING, SalesSpec, generate_uploads

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DOCUMENTED_COMMAND = ["--out", "{out}", "--store-export-days", "30"]  # as data/sample/README.md says
WINDOW = 28  # four whole weeks: the weekly pattern cancels out of a window's mean
TOLERANCE = 0.15


def csv_files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*.csv"))}


def test_shipped_samples_are_what_the_documented_command_writes(tmp_path):
    out = tmp_path / "sample"
    result = CliRunner().invoke(generate_sales, [arg.format(out=out) for arg in DOCUMENTED_COMMAND])
    assert result.exit_code == 0, result.output
    generated, shipped = csv_files(out), csv_files(SAMPLE)
    assert sorted(shipped) == ["mapped/store_export_2026-11.csv", "sales_2024.csv", "sales_2025.csv", "sales_2026.csv"]
    assert sorted(generated) == sorted(shipped)
    for name in shipped:
        assert generated[name] == shipped[name], f"data/sample/{name} differs from the generator's output"


def daily_totals(path: Path, options: UploadOptions) -> pd.DataFrame:
    """Sales per category and day, read the way an upload reads the file (validated, imputed)."""
    rows = prepare_batch(path, options.validated()).rows
    return rows.groupby(["category", "date"], observed=True)["sales"].sum().unstack("category").sort_index()


def test_store_export_continues_every_category_without_a_level_break():
    before = daily_totals(SAMPLE / "sales_2026.csv", UploadOptions())
    after = daily_totals(
        SAMPLE / "mapped" / "store_export_2026-11.csv",
        UploadOptions(parse_column_mapping(STORE_EXPORT_MAPPING), STORE_EXPORT_DATE_FORMAT),
    )
    assert after.index.min() == before.index.max() + pd.Timedelta(days=1)
    assert len(after) >= WINDOW and sorted(after.columns) == sorted(before.columns)
    for category in before.columns:
        earlier = before[category].iloc[-2 * WINDOW : -WINDOW].mean()
        last = before[category].iloc[-WINDOW:].mean()
        expected = last * last / earlier  # the last four weeks' level, carried on at their trend
        first = after[category].iloc[:WINDOW].mean()
        assert first == pytest.approx(expected, rel=TOLERANCE), (
            f"{category}: {last:.0f} a day before the switch, {first:.0f} after (expected about {expected:.0f})"
        )


def test_the_generator_continues_the_series_it_was_asked_to_extend():
    """The sales part of a spec with an export is the spec without one: the export only adds days."""
    spec = SalesSpec(categories=2, products_per_category=2, days=60, export_days=10, messy_rows=0, seed=3)
    uploads = generate_uploads(spec)
    alone = generate_uploads(SalesSpec(categories=2, products_per_category=2, days=70, messy_rows=0, seed=3)).sales
    assert list(uploads.store_export.columns) == ["Order Date", "Product ID", "Category", "Sales", "Region"]
    assert len(uploads.store_export) == 10 * 4 and len(uploads.sales) == 60 * 4
    dates = pd.to_datetime(uploads.store_export["Order Date"], format=STORE_EXPORT_DATE_FORMAT).dt.strftime("%Y-%m-%d")
    continued = pd.DataFrame({"Date": dates, "product_id": uploads.store_export["Product ID"],
                              "category": uploads.store_export["Category"], "sales": uploads.store_export["Sales"]})
    assert pd.concat([uploads.sales, continued], ignore_index=True).equals(alone)
