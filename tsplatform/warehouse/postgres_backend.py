"""The production warehouse: PostgreSQL through psycopg 3.

Same SQL as DuckDB (the repository modules write ``?`` placeholders; they become ``%s`` here).
Frames are bulk-loaded with ``COPY`` into temporary tables that vanish at commit. The COPY is in
PostgreSQL's binary format when every column has a known type: the server then parses nothing
(half the time of text for a million rows) and psycopg's C dumpers format the rows, while a
writer thread sends them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:  # imported where frames are made: ``tsplatform upload`` needs neither
    import numpy as np
    import pandas as pd

from tsplatform.warehouse.base import Session, Warehouse

_DATE_OIDS = {1082}
_TIMESTAMP_OIDS = {1114, 1184}
_NUMERIC_OIDS = {1700, 700, 701}  # numeric, real, double precision (an all-NULL column would be objects)


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

    def allow_memory_for_joins(self, megabytes: int) -> None:
        self._connection.execute(f"SET LOCAL work_mem = '{int(megabytes)}MB'")

    def lock_table_for_writing(self, table: str) -> None:
        # conflicts with itself and with every write, not with plain reads (ACCESS SHARE)
        _check_name(table)
        self._connection.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(_to_pyformat(sql), list(params) or None).fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        import pandas as pd

        cursor = self._connection.execute(_to_pyformat(sql), list(params) or None)
        description = cursor.description or []
        columns = [c.name for c in description]
        frame = pd.DataFrame(cursor.fetchall(), columns=columns)
        for column in description:  # the same dtypes DuckDB's .df() gives
            if column.type_code in _DATE_OIDS | _TIMESTAMP_OIDS:
                frame[column.name] = pd.to_datetime(frame[column.name])
            elif column.type_code in _NUMERIC_OIDS:
                frame[column.name] = frame[column.name].astype("float64")
        return frame

    def load_frame(self, name: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        _check_name(name)
        columns = ", ".join(f'"{c}" {t}' for c, t in column_types.items())
        self._connection.execute(f'DROP TABLE IF EXISTS "{name}"')
        self._connection.execute(f'CREATE TEMP TABLE "{name}" ({columns}) ON COMMIT DROP')
        self._copy(name, frame, column_types)
        if len(frame):
            # temporary tables get no statistics by themselves; without them the planner guesses
            # from the table's pages: a handful of rows for a million (nested loops for the joins
            # that follow), hundreds for a few (a sort of the whole invoice table to merge-join 19
            # rows). ANALYZE of a small table costs about a millisecond.
            self._connection.execute(f'ANALYZE "{name}"')

    def append_frame(
        self, table: str, frame: pd.DataFrame, column_types: dict[str, str], constants: dict[str, tuple[str, Any]] | None = None
    ) -> None:
        """Bulk-append ``frame`` to the permanent ``table`` with one COPY (``constants`` on every row)."""
        _check_name(table)
        self._copy(table, frame, column_types, constants or {})

    def _copy(
        self, table: str, frame: pd.DataFrame, column_types: dict[str, str], constants: dict[str, tuple[str, Any]] | None = None
    ) -> None:
        import pandas as pd
        from psycopg.copy import QueuedLibpqWriter

        constants = constants or {}
        names = ", ".join(f'"{c}"' for c in [*column_types, *constants])
        binary_types = [_binary_type(frame[c], t) for c, t in column_types.items()]
        binary_types += [_binary_type(pd.Series([value]), t) for t, value in constants.values()]
        binary = all(binary_types)
        statement = f'COPY "{table}" ({names}) FROM STDIN' + (" (FORMAT binary)" if binary else "")
        cursor = self._connection.cursor()
        # the writer thread sends each buffer while this one formats the next rows
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            if binary:
                copy.set_types([t for t in binary_types if t is not None])  # all set: binary
            fixed = tuple(_python_values(pd.Series([value]), t)[0] for t, value in constants.values())
            for row in zip(*(_python_values(frame[c], t) for c, t in column_types.items())):
                copy.write_row(row + fixed)


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"unsafe table name {name!r}")


# declared SQL type -> the PostgreSQL type its binary COPY field must have
_BINARY_TYPES = {
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR": "text",
    "TEXT": "text",
    "DOUBLE PRECISION": "float8",
    "BOOLEAN": "bool",
    "INTEGER": "int4",
    "BIGINT": "int8",
}


def _binary_type(column: pd.Series, sql_type: str) -> str | None:
    """The binary COPY type for this column, or None when its values need the text format (for
    instance numbers in a text column, or zone-aware timestamps), as before."""
    import pandas as pd

    sql_type = sql_type.upper()
    kind = column.dtype.kind
    if isinstance(column.dtype, pd.CategoricalDtype):
        kind = column.cat.categories.dtype.kind
        inferred = pd.api.types.infer_dtype(column.cat.categories, skipna=True)
    else:
        inferred = pd.api.types.infer_dtype(column, skipna=True) if kind == "O" else ""
    fits = {
        "DATE": True,
        "TIMESTAMP": kind == "M" and getattr(column.dtype, "tz", None) is None,
        "VARCHAR": inferred in ("string", "empty"),
        "TEXT": inferred in ("string", "empty"),
        "DOUBLE PRECISION": kind in "fiu",
        "BOOLEAN": kind == "b" or inferred in ("boolean", "empty"),
        "INTEGER": kind in "iu",
        "BIGINT": kind in "iu",
    }.get(sql_type, False)
    return _BINARY_TYPES[sql_type] if fits else None


def _python_values(column: pd.Series, sql_type: str) -> list:
    """Values COPY can take: None for missing, dates as dates, numpy scalars as Python scalars.
    A value repeated across rows (dates, categories, constants) is converted once."""
    import numpy as np
    import pandas as pd

    missing = column.isna().to_numpy()
    if sql_type.upper() in ("DATE", "TIMESTAMP"):
        values = _each_distinct(column, lambda distinct: _python_times(distinct, sql_type))
    elif isinstance(column.dtype, pd.CategoricalDtype):
        values = _each_distinct(column, lambda distinct: distinct.to_numpy(dtype=object))
    elif column.dtype.kind in "biuf":
        values = column.to_numpy().astype(object)
    else:
        values = column.to_numpy(dtype=object)
    if missing.any():
        values = np.where(missing, None, values)  # type: ignore[call-overload]  # object array with None for NULL
    return values.tolist()


def _each_distinct(column: pd.Series, convert) -> np.ndarray:
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(column)
    converted = np.empty(len(distinct) + 1, dtype=object)  # the last slot answers code -1 (missing)
    converted[:-1] = convert(pd.Series(distinct))
    return converted.take(codes)


def _python_times(distinct: pd.Series, sql_type: str) -> np.ndarray:
    import pandas as pd

    if sql_type.upper() == "DATE":
        return pd.to_datetime(distinct).dt.date.to_numpy(dtype=object)
    if distinct.dtype.kind == "M" and getattr(distinct.dtype, "tz", None) is None:
        # plain datetimes (psycopg's C dumpers skip the Timestamp subclass), to the microsecond,
        # rounding half to even as the server's text input does
        return distinct.dt.round("us").to_numpy().astype("datetime64[us]").astype(object)
    return distinct.to_numpy(dtype=object)


class PostgresWarehouse(Warehouse):
    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self._conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)

    @contextmanager
    def transaction(self) -> Iterator[PostgresSession]:
        with psycopg.connect(self._conninfo, autocommit=False) as connection:
            # ``with connect()`` commits on success, rolls back on an exception, then closes.
            yield PostgresSession(connection)

    @contextmanager
    def snapshot(self) -> Iterator[PostgresSession]:
        """A read-only transaction; a server that does not answer fails in seconds (the reader
        retries), not after the operating system's TCP timeout."""
        with psycopg.connect(self._conninfo, autocommit=False, connect_timeout=_READ_CONNECT_TIMEOUT) as connection:
            connection.read_only = True
            yield PostgresSession(connection)


_READ_CONNECT_TIMEOUT = 5
