"""The warehouse seam: one interface, one implementation per database.

Everything above this module talks to a ``Warehouse`` and a ``Session`` and writes portable SQL
with ``?`` placeholders. A backend only knows how to connect, run a transaction, translate
placeholders and bulk-load a DataFrame; the table logic lives once, in the repository modules.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import pandas as pd

from tsplatform.warehouse.schema import MIGRATIONS, SCHEMA_MIGRATIONS_DDL


def page_clause(limit: int | None = None, offset: int | None = None) -> str:
    """`` LIMIT n OFFSET m`` (either may be absent), the same on both backends."""
    clause = f" LIMIT {int(limit)}" if limit is not None else ""
    return clause + (f" OFFSET {int(offset)}" if offset else "")


def utc_now() -> dt.datetime:
    """Naive UTC timestamp: every TIMESTAMP column in the warehouse is UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


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
    def append_frame(self, table: str, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        """Append ``frame`` to the permanent ``table`` in bulk (its columns, cast to ``column_types``)."""

    def lock_for_migration(self) -> None:
        """Serialise schema changes between processes (a no-op where the database already does)."""

    def lock_table_for_writing(self, table: str) -> None:
        """Until this transaction ends, let no other writer change ``table`` (readers go on): a
        read-compare-write then sees every write committed before it. A no-op where the database
        has one writer at a time already (DuckDB: one writer process)."""

    def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.fetch_all(sql, params)
        return rows[0] if rows else None


class Warehouse(ABC):
    """A database holding the project's tables."""

    url: str

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
                for statement in migration.statements:
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
