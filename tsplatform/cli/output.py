"""Print a DataFrame as a table, CSV or JSON: what people read and what downstream code parses."""

from __future__ import annotations

import sys

import click
import pandas as pd

FORMATS = ("table", "csv", "json")
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading quote (CSV injection)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_LEADS) else v
            )
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV, safe to open in a spreadsheet (``tsplatform ... --format csv``, the HTTP API)."""
    return neutralize_formulas(frame).to_csv(index=False)


def emit(frame: pd.DataFrame, fmt: str) -> None:
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    elif fmt == "csv":
        sys.stdout.write(csv_text(frame))
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text  # plain text: a category named [bold] stays literal

        frame = frame.round(3)
        table = Table(show_lines=False)
        for column in frame.columns:
            table.add_column(str(column), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*[Text("" if pd.isna(v) else str(v)) for v in row])
        Console(width=max(160, Console().width)).print(table)
