"""The warehouse seam: one interface, one implementation per database.

Everything above this module talks to a ``Warehouse`` and a ``Session`` and writes portable SQL
with ``?`` placeholders. A backend only knows how to connect, run a transaction, translate
placeholders and bulk-load a DataFrame; the table logic lives once, in the repository modules.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is made: ``tsplatform upload`` never needs it
    import pandas as pd

from tsplatform.warehouse.schema import MIGRATIONS, SCHEMA_MIGRATIONS_DDL


def page_clause(limit: int | None = None, offset: int | None = None) -> str:
    """`` LIMIT n OFFSET m`` (either may be absent), the same on both backends."""
    clause = f" LIMIT {int(limit)}" if limit is not None else ""
    return clause + (f" OFFSET {int(offset)}" if offset else "")


class Conditions:
    """The AND-ed WHERE conditions of a read and their ``?`` parameters; a None value adds nothing,
    so a read passes every optional filter through unchanged."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, value: Any) -> Conditions:
        if value is not None:
            self.clauses.append(clause)
            self.params.append(value)
        return self

    def equal(self, column: str, value: Any) -> Conditions:
        return self.add(f"{column} = ?", value)

    def between(self, column: str, start: Any = None, end: Any = None) -> Conditions:
        """``start <= column <= end``, either end open when None."""
        return self.add(f"{column} >= ?", start).add(f"{column} <= ?", end)

    @property
    def where(self) -> str:
        """`` WHERE a AND b`` or nothing."""
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


def utc_now() -> dt.datetime:
    """Naive UTC timestamp: every TIMESTAMP column in the warehouse is UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Session(ABC):
    """One open transaction."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    @abstractmethod
    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...

    @abstractmethod
    def load_frame(self, name: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        """Make ``frame`` queryable as the temporary table ``name`` for this transaction (bulk, not row by row)."""

    @abstractmethod
    def append_frame(
        self, table: str, frame: pd.DataFrame, column_types: dict[str, str], constants: dict[str, tuple[str, Any]] | None = None
    ) -> None:
        """Append ``frame`` to the permanent ``table`` in bulk (its columns, cast to ``column_types``).
        ``constants``: column -> (SQL type, value) set alike on every row (not repeated in the frame)."""

    def lock_for_migration(self) -> None:  # noqa: B027  (a no-op by default, on purpose)
        """Serialise schema changes between processes (a no-op where the database already does)."""

    def allow_memory_for_joins(self, megabytes: int) -> None:  # noqa: B027  (a no-op by default, on purpose)
        """Let this transaction's hash joins and sorts use up to ``megabytes`` each before spilling to
        disk (PostgreSQL's ``work_mem``, 4 MB by default). A no-op where the database sizes them
        itself (DuckDB)."""

    def lock_table_for_writing(self, table: str) -> None:  # noqa: B027  (a no-op by default, on purpose)
        """Until this transaction ends, let no other writer change ``table`` (readers go on): a
        read-compare-write then sees every write committed before it. A no-op where the database
        has one writer at a time already (DuckDB: one writer process)."""

    def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.fetch_all(sql, params)
        return rows[0] if rows else None

    def fetch_row(self, sql: str, params: Sequence[Any] = ()) -> tuple:
        """The row of a query that always returns exactly one (an aggregate such as ``count(*)``)."""
        row = self.fetch_one(sql, params)
        if row is None:
            raise LookupError(f"no row from a query that always returns one: {sql[:80]}")
        return row


class Warehouse(ABC):
    """A database holding the project's tables."""

    url: str
    dialect: str  # "duckdb" | "postgresql": which migrations' ``only_on`` statements apply

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """All statements inside commit together or not at all."""

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A transaction for reading that never waits on its own: where opening would wait for
        another process (DuckDB's file lock), it raises at once and the reader retries on its
        own clock (``tsplatform.read``). Here: a plain transaction."""
        with self.transaction() as session:
            yield session

    def migrate(self) -> list[int]:
        """Apply the migrations this database has not seen yet; returns the versions applied."""
        applied: list[int] = []
        with self.transaction() as session:
            session.lock_for_migration()
            session.execute(SCHEMA_MIGRATIONS_DDL)
            done = {row[0] for row in session.fetch_all("SELECT version FROM schema_migrations")}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration.statements_for(self.dialect):
                    session.execute(statement)
                session.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.description, utc_now()),
                )
                applied.append(migration.version)
        return applied

    def schema_version(self) -> int:
        with self.transaction() as session:
            row = session.fetch_one("SELECT max(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0


def insert_frame(session: Session, table: str, frame: pd.DataFrame, column_types: dict[str, str],
                 stamps: dict[str, Any] | None = None) -> None:
    """Insert ``frame`` into ``table`` in bulk, through a temporary table, every row also given the
    ``stamps`` (column -> one value for all rows, e.g. created_at and run_id)."""
    if frame.empty:
        return
    stamps = stamps or {}
    stage = f"staged_{table}"
    session.load_frame(stage, frame, column_types)
    names = ", ".join(column_types)
    session.execute(
        f"INSERT INTO {table} ({names}{''.join(f', {c}' for c in stamps)}) "
        f"SELECT {names}{''.join(', ?' for _ in stamps)} FROM {stage}",
        tuple(stamps.values()),
    )


def replace_rows(session: Session, table: str, frame: pd.DataFrame, column_types: dict[str, str], *,
                 stamps: dict[str, Any] | None = None, where: Conditions | None = None) -> None:
    """Swap the rows of ``table`` that match ``where`` (all of them without) for ``frame``, in the
    caller's transaction: readers see the old rows or the new ones, never a mix."""
    where = where or Conditions()
    session.execute(f"DELETE FROM {table}{where.where}", where.params)
    insert_frame(session, table, frame, column_types, stamps)
