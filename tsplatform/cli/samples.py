"""``tsplatform generate-sales``: realistic sample uploads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.command("generate-sales")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("data/landing"), show_default=True, help="Folder to write the CSV files to.")
@click.option("--categories", type=int, default=5, show_default=True)
@click.option("--products", type=int, default=8, show_default=True, help="Products per category.")
@click.option("--days", type=int, default=730, show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2024-11-01", show_default=True)
@click.option("--missing-rate", type=float, default=0.03, show_default=True)
@click.option("--messy-rows", type=int, default=20, show_default=True)
@click.option("--split", type=click.Choice(["none", "year", "month"]), default="year", show_default=True, help="One file per period.")
@click.option("--seed", type=int, default=7, show_default=True)
def generate_sales(out_dir, categories, products, days, start, missing_rate, messy_rows, split, seed):
    """Write sample sales CSVs (seasonality, trend, missing values, a few messy rows)."""
    import os

    from tqdm import tqdm

    from tsplatform.sample_data import SalesSpec, generate_sales as build, split_by_period

    spec = SalesSpec(categories, products, start.date(), days, missing_rate, messy_rows, seed)
    frame = build(spec)
    parts = {"all": frame} if split == "none" else split_by_period(frame, split)
    out_dir.mkdir(parents=True, exist_ok=True)
    for period, part in tqdm(parts.items(), desc="writing", unit="file", disable=len(parts) < 3):
        target = out_dir / f"sales_{period}.csv"
        temporary = out_dir / f".{target.name}.tmp"  # landing may be watched: rename when complete
        part.to_csv(temporary, index=False)
        os.replace(temporary, target)
        click.echo(f"{target}: {len(part):,} rows")
