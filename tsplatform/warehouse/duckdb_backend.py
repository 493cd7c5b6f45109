"""The embedded default: one DuckDB file.

DuckDB lets one process hold the file for writing at a time, so connections here are short-lived
(one per transaction) and opening one retries with backoff while another process holds the lock.
The backoff is dagster-duckdb's (its resource's settings and delays), kept here rather than taken
from the resource: importing that imports Dagster (~0.7 s), which ``tsplatform upload`` and the
readers never need, and one mechanism serves every process alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from tsplatform.warehouse.base import Session, Warehouse


class DuckDBSession(Session):
    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._connection = connection
        self._registered: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, list(params))

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(sql, list(params)).fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self._connection.execute(sql, list(params)).df()

    def load_frame(self, name: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        # Handed over as Arrow (categoricals become dictionaries: no Python string per row) and
        # exposed as a view casting to the declared types, so both backends agree. Nothing is
        # copied: the statements that read a staged frame scan the Arrow data directly.
        arrow = self._register(f"{name}__frame", frame, column_types)
        self._connection.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT {_casts(column_types)} FROM "{arrow}"')

    def append_frame(
        self, table: str, frame: pd.DataFrame, column_types: dict[str, str], constants: dict[str, tuple[str, Any]] | None = None
    ) -> None:
        constants = constants or {}
        arrow = self._register(f"{table}__append", frame, column_types)
        names = ", ".join(f'"{c}"' for c in [*column_types, *constants])
        selected = ", ".join([_casts(column_types), *(f"CAST(? AS {sql_type})" for sql_type, _ in constants.values())])
        self._connection.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {selected} FROM "{arrow}"', [value for _, value in constants.values()]
        )

    def _register(self, view: str, frame: pd.DataFrame, column_types: dict[str, str]) -> str:
        self._connection.register(view, _as_arrow(frame, list(column_types)))
        self._registered.append(view)
        return view

    def close(self) -> None:
        for view in self._registered:
            self._connection.unregister(view)


def _casts(column_types: dict[str, str]) -> str:
    return ", ".join(f'CAST("{col}" AS {sql_type}) AS "{col}"' for col, sql_type in column_types.items())


def _as_arrow(frame: pd.DataFrame, columns: list[str]):
    """These columns of the frame as an Arrow table (no intermediate frame), or as a frame when
    Arrow cannot type a column (mixed objects)."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, columns=columns, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame[columns]


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.url = f"duckdb:///{self.path}"

    @contextmanager
    def transaction(self) -> Iterator[DuckDBSession]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _in_transaction(_connect_with_backoff(self.path)) as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[DuckDBSession]:
        """One try at the file: the backoff waits ~100 s for a writer's lock, longer than a reader
        should. Never creates the file (FileNotFoundError)."""
        if not self.path.is_file():
            raise FileNotFoundError(f"no DuckDB warehouse at {self.path}")
        # the same settings as ``transaction``: a second connection in this process must match them
        # (DuckDB refuses "a different configuration than existing connections")
        connection = duckdb.connect(str(self.path), read_only=False, config=dict(_CONFIG))
        with _in_transaction(connection) as session:
            yield session


# as dagster-duckdb's resource: read-write, retried on a held lock 10 times, waiting 0.1 s, then
# twice as long each time (~100 s in all)
_CONFIG = {"custom_user_agent": "tsplatform"}
_RETRIES, _FIRST_DELAY = 10, 0.1


def _connect_with_backoff(path: Path) -> duckdb.DuckDBPyConnection:
    delay = _FIRST_DELAY
    for attempt in range(_RETRIES + 1):
        try:
            return duckdb.connect(str(path), read_only=False, config=dict(_CONFIG))
        except (RuntimeError, duckdb.IOException):
            if attempt == _RETRIES:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


@contextmanager
def _in_transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[DuckDBSession]:
    session = DuckDBSession(connection)
    try:
        connection.begin()
        yield session
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        session.close()
        connection.close()  # release the file lock now, even on error
