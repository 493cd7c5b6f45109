"""Create the warehouse database itself when it does not exist yet (PostgreSQL), so a newcomer's
first ``make run-postgres`` works against a bare server."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def ensure_postgres_database(url: str) -> bool:
    """Create the database named in ``url`` if missing; True when it was created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    database = parts.path.lstrip("/") or "postgres"
    maintenance = urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists:
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return True
