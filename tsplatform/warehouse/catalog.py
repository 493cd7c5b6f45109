"""What the warehouse tables look like, read from the migrations, and how many rows they hold.

The migrations in ``schema`` are the one definition of every table. The columns here are parsed
from their DDL (the tables as they are after every migration), so the column schema Dagster shows
cannot drift from the tables the code creates. Pure text parsing: no database is opened for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from tsplatform.warehouse.base import Session
from tsplatform.warehouse.schema import MIGRATIONS

_CONSTRAINT_WORDS = {"NOT", "NULL", "PRIMARY", "DEFAULT", "UNIQUE", "CHECK", "REFERENCES", "CONSTRAINT", "GENERATED"}
_CREATE = re.compile(r"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)$", re.I | re.S)
_ALTER = re.compile(r"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)\s+(.*)$", re.I | re.S)
_ADD = re.compile(r"^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(.*)$", re.I | re.S)
_DROP = re.compile(r"^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(\w+)$", re.I)
_RENAME = re.compile(r"^RENAME\s+(?:COLUMN\s+)?(\w+)\s+TO\s+(\w+)$", re.I)
_DROP_TABLE = re.compile(r"^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)$", re.I)
_ALTER_COLUMN = re.compile(r"^ALTER\s+(?:COLUMN\s+)?(\w+)\s+(SET\s+NOT\s+NULL|DROP\s+NOT\s+NULL|(?:SET\s+DATA\s+)?TYPE\s+(.+))$", re.I)
_TABLE_KEY = re.compile(r"^PRIMARY\s+KEY\s*\((.*)\)$", re.I | re.S)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as the DDL spells it, e.g. DOUBLE PRECISION
    nullable: bool
    primary_key: bool = False


def table_columns(table: str) -> tuple[Column, ...]:
    """The columns of ``table`` after every migration, in table order. KeyError for an unknown table."""
    return _tables()[table]


def column_types(table: str, names: Sequence[str] | None = None, *, without: Sequence[str] = ()) -> dict[str, str]:
    """``{column: SQL type}`` of ``table`` from its DDL, in table order (only ``names``, in their
    order, when given; ``without`` left out): what a bulk load casts to, one source for the columns."""
    types = {column.name: column.type for column in table_columns(table)}
    chosen = list(names) if names is not None else list(types)
    return {name: types[name] for name in chosen if name not in without}


def table_names() -> tuple[str, ...]:
    return tuple(_tables())


def row_count(session: Session, table: str) -> int:
    """``SELECT count(*)`` of one of the project's tables (the name is checked against the migrations)."""
    if table not in _tables():
        raise KeyError(f"{table!r} is not a warehouse table")
    row = session.fetch_one(f"SELECT count(*) FROM {table}")
    return int(row[0]) if row else 0


@lru_cache(maxsize=1)
def _tables() -> dict[str, tuple[Column, ...]]:
    tables: dict[str, list[Column]] = {}
    for migration in MIGRATIONS:
        for statement in migration.statements:
            _apply(tables, _strip_comments(statement))
    return {name: tuple(columns) for name, columns in tables.items()}


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql).strip().rstrip(";").strip()


def _apply(tables: dict[str, list[Column]], sql: str) -> None:
    if created := _CREATE.match(sql):
        name, body = created.groups()
        if name.lower() not in tables:  # IF NOT EXISTS: a second CREATE of a table changes nothing
            tables[name.lower()] = _parse_body(body)
        return
    if dropped := _DROP_TABLE.match(sql):
        tables.pop(dropped.group(1).lower(), None)
        return
    if altered := _ALTER.match(sql):
        name, action = altered.group(1).lower(), " ".join(altered.group(2).split())
        columns = tables[name]
        if added := _ADD.match(action):
            column = _parse_column(added.group(1))
            if all(c.name != column.name for c in columns):
                columns.append(column)
        elif dropped_column := _DROP.match(action):
            tables[name] = [c for c in columns if c.name != dropped_column.group(1).lower()]
        elif renamed := _RENAME.match(action):
            old, new = renamed.group(1).lower(), renamed.group(2).lower()
            tables[name] = [replace(c, name=new) if c.name == old else c for c in columns]
        elif changed := _ALTER_COLUMN.match(action):
            tables[name] = [_alter_column(c, changed) if c.name == changed.group(1).lower() else c for c in columns]
    # CREATE INDEX and other statements do not change columns (test_table_metadata compares the
    # parsed columns with the real tables on both backends, so a form not read here shows up there)


def _alter_column(column: Column, change: re.Match) -> Column:
    what = change.group(2).upper()
    if what.startswith("SET NOT NULL"):
        return replace(column, nullable=False)
    if what.startswith("DROP NOT NULL"):
        return replace(column, nullable=not column.primary_key)
    return replace(column, type=change.group(3).split(" USING ")[0].strip().upper())


def _parse_body(body: str) -> list[Column]:
    columns: list[Column] = []
    keys: list[str] = []
    for part in _split_top_level(body):
        if key := _TABLE_KEY.match(part):
            keys = [k.strip().lower() for k in key.group(1).split(",")]
        elif part.split()[0].upper() in {"PRIMARY", "UNIQUE", "CONSTRAINT", "CHECK", "FOREIGN"}:
            continue
        else:
            columns.append(_parse_column(part))
    return [replace(c, primary_key=True, nullable=False) if c.name in keys else c for c in columns]


def _parse_column(text: str) -> Column:
    words = text.split()
    name, rest = words[0].lower(), words[1:]
    type_words = []
    for word in rest:
        if word.upper().split("(")[0] in _CONSTRAINT_WORDS:
            break
        type_words.append(word)
    upper = " ".join(rest).upper()
    primary = "PRIMARY KEY" in upper
    return Column(name, " ".join(type_words).upper(), nullable=not ("NOT NULL" in upper or primary), primary_key=primary)


def _split_top_level(body: str) -> list[str]:
    """Split a column list at the commas outside parentheses (``PRIMARY KEY (a, b)``, ``DECIMAL(10, 2)``)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += char == "("
        depth -= char == ")"
        current.append(char)
    parts.append("".join(current))
    return [" ".join(p.split()) for p in parts if p.strip()]
