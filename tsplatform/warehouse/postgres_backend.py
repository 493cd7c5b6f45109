"""The production warehouse: PostgreSQL through psycopg 3.

Same SQL as DuckDB (the repository modules write ``?`` placeholders; they become ``%s`` here).
Frames are bulk-loaded with ``COPY`` into temporary tables that vanish at commit.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import psycopg

from tsplatform.warehouse.base import Session, Warehouse

_DATE_OIDS = {1082}
_TIMESTAMP_OIDS = {1114, 1184}
_NUMERIC_OIDS = {1700}


def _to_pyformat(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresSession(Session):
    def __init__(self, connection: psycopg.Connection):
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(_to_pyformat(sql), list(params) or None)

    def lock_for_migration(self) -> None:
        # two processes creating the same tables at once collide in pg_type; take turns
        self._connection.execute("SELECT pg_advisory_xact_lock(74320001)")

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(_to_pyformat(sql), list(params) or None).fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._connection.execute(_to_pyformat(sql), list(params) or None)
        columns = [c.name for c in cursor.description]
        frame = pd.DataFrame(cursor.fetchall(), columns=columns)
        for column in cursor.description:  # the same dtypes DuckDB's .df() gives
            if column.type_code in _DATE_OIDS | _TIMESTAMP_OIDS:
                frame[column.name] = pd.to_datetime(frame[column.name])
            elif column.type_code in _NUMERIC_OIDS:
                frame[column.name] = frame[column.name].astype("float64")
        return frame

    def load_frame(self, name: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"unsafe temporary table name {name!r}")
        columns = ", ".join(f'"{c}" {t}' for c, t in column_types.items())
        self._connection.execute(f'DROP TABLE IF EXISTS "{name}"')
        self._connection.execute(f'CREATE TEMP TABLE "{name}" ({columns}) ON COMMIT DROP')
        names = ", ".join(f'"{c}"' for c in column_types)
        with self._connection.cursor().copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
            for row in zip(*(_python_values(frame[c], t) for c, t in column_types.items())):
                copy.write_row(row)


def _python_values(column: pd.Series, sql_type: str) -> list:
    """Values COPY can take: None for missing, dates as dates, numpy scalars as Python scalars."""
    missing = column.isna().to_numpy()
    if sql_type == "DATE":
        values = pd.to_datetime(column).dt.date.to_numpy(dtype=object)
    elif column.dtype.kind in "biuf":
        values = column.to_numpy().astype(object)
    else:
        values = column.to_numpy(dtype=object)
    if missing.any():
        values = np.where(missing, None, values)
    return values.tolist()


class PostgresWarehouse(Warehouse):
    def __init__(self, url: str):
        self.url = url
        self._conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)

    @contextmanager
    def transaction(self) -> Iterator[PostgresSession]:
        with psycopg.connect(self._conninfo, autocommit=False) as connection:
            # ``with connect()`` commits on success, rolls back on an exception, then closes.
            yield PostgresSession(connection)
