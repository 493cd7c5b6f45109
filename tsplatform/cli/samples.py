"""``tsplatform generate-sales``: realistic sample uploads."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("generate-sales")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("data/landing"), show_default=True,
              help="Folder to write the CSV files to.")
@click.option("--categories", type=int, default=5, show_default=True)
@click.option("--products", type=int, default=8, show_default=True, help="Products per category.")
@click.option("--days", type=int, default=730, show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2024-11-01", show_default=True)
@click.option("--missing-rate", type=float, default=0.03, show_default=True)
@click.option("--messy-rows", type=int, default=20, show_default=True)
@click.option("--split", type=click.Choice(["none", "year", "month"]), default="year", show_default=True, help="One file per period.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--store-export-days", type=int, default=0, show_default=True,
    help="Continue the series this many days after --days as a store-system export (own header names, "
    "US dates) in OUT/mapped/, uploaded with a column mapping.",
)
def generate_sales(out_dir, categories, products, days, start, missing_rate, messy_rows, split, seed, store_export_days):
    """Write sample sales CSVs (seasonality, trend, missing values, a few messy rows)."""
    from tqdm import tqdm

    from tsplatform.sample_data import SalesSpec, generate_uploads, split_by_period, store_export_name

    spec = SalesSpec(categories, products, start.date(), days, missing_rate, messy_rows, seed, store_export_days)
    uploads = generate_uploads(spec)
    parts = {"all": uploads.sales} if split == "none" else split_by_period(uploads.sales, split)
    for period, part in tqdm(parts.items(), desc="writing", unit="file", disable=len(parts) < 3):
        _write(part, out_dir / f"sales_{period}.csv")
    if len(uploads.store_export):
        _write(uploads.store_export, out_dir / "mapped" / store_export_name(uploads.store_export))


def _write(part, target: Path) -> None:
    """Write under a temporary name, then rename: landing may be watched."""
    import os

    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.tmp"
    part.to_csv(temporary, index=False)
    os.replace(temporary, target)
    click.echo(f"{target}: {len(part):,} rows")
