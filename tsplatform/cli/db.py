"""``tsplatform db``: set up and inspect the warehouse."""

import click

from tsplatform import settings


@click.group()
def db() -> None:
    """The warehouse database (TSPLATFORM_WAREHOUSE_URL)."""


@db.command()
@click.option("--url", default=None, help="Warehouse URL (default: TSPLATFORM_WAREHOUSE_URL or the DuckDB file).")
def init(url):
    """Create the database if needed and apply pending schema migrations (safe to repeat)."""
    from tsplatform.warehouse import backend_for
    from tsplatform.warehouse.provisioning import ensure_postgres_database

    url = url or settings.warehouse_url()
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")) and ensure_postgres_database(url):
        click.echo("created the database")
    warehouse = backend_for(url)
    applied = warehouse.migrate()
    click.echo(f"schema version {warehouse.schema_version()}" + (f" (applied {applied})" if applied else " (up to date)"))


@db.command("create")
@click.argument("url")
def create(url):
    """Create the PostgreSQL database named in URL if it does not exist (e.g. Dagster's own)."""
    from tsplatform.warehouse.provisioning import ensure_postgres_database

    click.echo("created" if ensure_postgres_database(url) else "exists")
