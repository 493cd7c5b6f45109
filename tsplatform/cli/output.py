"""Print a DataFrame as a table, CSV or JSON: what people read and what downstream code parses.

A table is for a terminal: it fits its width (``COLUMNS``, else the terminal's, else 80 when
piped), one line a row; a command's ``Layout`` picks the columns people need, ids and hashes show
their first 8 characters and long text ends in an ellipsis. CSV and JSON carry every column, full.
"""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # pandas costs ~0.3 s to import: only the commands that read data pay for it
    import pandas as pd

FORMATS = ("table", "csv", "json")
SHORT_ID = 8  # characters of a hash or run id in a table: enough to tell them apart
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Layout:
    """A command's table: ``columns`` maps frame columns to headers, in the order shown (absent
    ones are skipped); ``ids`` are shortened to ``SHORT_ID`` characters; ``text`` columns give up
    width first when the terminal is narrow, cut with an ellipsis (``widest``: never wider than
    this, so another text column keeps the room). The others keep their width."""

    columns: Mapping[str, str]
    ids: frozenset[str] = field(default_factory=frozenset)
    text: frozenset[str] = field(default_factory=frozenset)
    widest: Mapping[str, int] = field(default_factory=dict)

    def without(self, *names: str) -> Layout:
        return Layout({k: v for k, v in self.columns.items() if k not in names}, self.ids, self.text, self.widest)


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


def emit(frame: pd.DataFrame, fmt: str, layout: Layout | None = None, empty: str = "no rows") -> None:
    """``frame`` on stdout: JSON records, CSV (every column) or a table (``layout``'s columns);
    instead of an empty table, ``empty`` on stderr."""
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    elif fmt == "csv":
        sys.stdout.write(csv_text(frame))
    elif frame.empty:
        click.echo(empty, err=True)
    else:
        click.echo(table_text(frame, layout), nl=False)


def terminal_width() -> int:
    """``COLUMNS``, else the terminal's width, else 80 (piped output fits a standard terminal)."""
    return shutil.get_terminal_size((80, 24)).columns


def table_text(frame: pd.DataFrame, layout: Layout | None = None, width: int | None = None) -> str:
    """The table as text no wider than ``width`` (default: the terminal's), one line a row."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # plain text: a category named [bold] stays literal

    layout = layout or _every_column(frame)
    names = [name for name in layout.columns if name in frame.columns]
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, header_style="bold")
    for name in names:
        table.add_column(layout.columns[name], justify="right" if _is_number(frame[name]) else "left",
                         no_wrap=name not in layout.text, overflow="ellipsis", max_width=layout.widest.get(name))
    cells = [_cells(frame[name], short=name in layout.ids) for name in names]
    for row in zip(*cells):
        table.add_row(*(Text(value, no_wrap=True, overflow="ellipsis") for value in row))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or terminal_width(), color_system=None, force_terminal=False,
                      highlight=False, markup=False, emoji=False, legacy_windows=False)
    console.print(table)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _every_column(frame: pd.DataFrame) -> Layout:
    """No layout: every column, run ids and hashes shortened, text columns narrowed first."""
    ids = frozenset(c for c in frame.columns if c == "run_id" or str(c).endswith("_hash"))
    return Layout({c: str(c) for c in frame.columns}, ids, frozenset(c for c in frame.columns if frame[c].dtype == object))


def _is_number(column: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _cells(column: pd.Series, short: bool) -> list[str]:
    """Each value as people read it: days or minutes for times, yes/blank for flags, 3 decimals."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        times = column.dropna()
        pattern = "%Y-%m-%d" if (times == times.dt.normalize()).all() else "%Y-%m-%d %H:%M"
        return [_printable(value.strftime(pattern)) if not pd.isna(value) else "" for value in column]
    return [_cell(value, short) for value in column]


def _cell(value, short: bool) -> str:
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str) and pd.isna(value)):
        return ""
    if pd.api.types.is_bool(value):
        return "yes" if value else ""
    if pd.api.types.is_float(value):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = _printable(str(value))
    return text[:SHORT_ID] if short else text


def _printable(text: str) -> str:
    """One line, no control characters: a stored value cannot move the cursor or recolour the terminal."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
