"""Which database errors are worth trying again.

A retry helps only when the next attempt can succeed with the same data: the connection was lost,
the server was shutting down, a lock was not granted in time, the transaction lost a serialization
race or a deadlock. A constraint violation, a type or conversion error or a bad statement fails
the same way every time; retrying it only delays the failure. The answer comes from the drivers'
exception classes (psycopg's SQLSTATE classes, duckdb's exception types); the one message read is
DuckDB's "Could not set lock", an ``IOException`` no narrower class tells apart from a broken disk.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import duckdb


@lru_cache(maxsize=1)
def _transient_postgres() -> tuple[type[BaseException], ...]:
    """psycopg's transient classes, imported on the first PostgreSQL error (a DuckDB reader never
    pays psycopg's ~0.1 s import)."""
    from psycopg import errors as pg

    return (
        pg.ConnectionException,  # 08000 and the 08xxx failures below
        pg.ConnectionFailure,
        pg.SqlclientUnableToEstablishSqlconnection,
        pg.SqlserverRejectedEstablishmentOfSqlconnection,
        pg.AdminShutdown,  # 57P01: the server is stopping or restarting, or our backend was terminated
        pg.CrashShutdown,
        pg.CannotConnectNow,  # 57P03: the server is starting up
        pg.IdleSessionTimeout,
        pg.IdleInTransactionSessionTimeout,
        pg.QueryCanceled,  # 57014: statement_timeout, or a cancel request
        pg.TransactionRollback,  # 40000, incl. SerializationFailure 40001 and DeadlockDetected 40P01
        pg.LockNotAvailable,  # 55P03: lock_timeout, NOWAIT
        pg.TooManyConnections,  # 53300
    )


_TRANSIENT_DUCKDB = (
    duckdb.TransactionException,  # a write-write conflict with another transaction of this process
)
_DUCKDB_LOCK_HELD = "Could not set lock"  # another process holds the database file


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or the error it was raised from) may not happen again on a new attempt."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_transient_itself(current):
            return True
        current = current.__cause__
    return False


def _is_transient_itself(error: BaseException) -> bool:
    psycopg = sys.modules.get("psycopg")  # not imported yet: no psycopg error can exist
    if psycopg is not None and isinstance(error, psycopg.Error):
        if isinstance(error, _transient_postgres()):
            return True
        # no SQLSTATE: the client lost the server (connection refused, closed, reset)
        return isinstance(error, psycopg.OperationalError) and error.sqlstate is None
    if isinstance(error, _TRANSIENT_DUCKDB):
        return True
    return isinstance(error, duckdb.IOException) and _DUCKDB_LOCK_HELD in str(error)
