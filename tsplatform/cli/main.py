"""Entry point of the ``tsplatform`` command: one click group, one module per family of commands."""

import click

from tsplatform.cli.db import db
from tsplatform.cli.forecasts import forecast, forecasts
from tsplatform.cli.invoices import ingest, invoices, rejected, upload, uploads
from tsplatform.cli.samples import generate_sales
from tsplatform.cli.serve import serve
from tsplatform.cli.stream import stream


@click.group()
def main() -> None:
    """tsplatform: sales uploads, forecasts and a live sensor stream on Dagster."""


for command in (upload, ingest, uploads, invoices, rejected, generate_sales, forecast, forecasts, stream, db, serve):
    main.add_command(command)
