"""``tsplatform upload | ingest | uploads | invoices``: the invoice path from the command line."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from tsplatform import settings
from tsplatform.cli.output import FORMATS, emit
from tsplatform.ingest.landing import copy_into_landing, sha256_of
from tsplatform.ingest.options import InvalidOptionsError, UploadOptions, parse_column_mapping


def _warehouse():
    from tsplatform.warehouse import open_warehouse

    return open_warehouse(settings.warehouse_url())


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--columns", "columns", help='Map source columns, e.g. "Order Date=Date,Product ID=product_id,Category=category,Sales=sales".')
@click.option("--date-format", default="%Y-%m-%d", show_default=True, help="strptime format of the date column.")
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA zone whose calendar day an invoice belongs to: a timestamp with an offset (%z) is converted to it, "
    "a naive one is its wall-clock time; the time of day is then dropped.",
)
@click.option("--encoding", default="utf-8-sig", show_default=True, help="Text encoding of the file (utf-8-sig reads UTF-8 with or without BOM).")
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter.")
@click.option("--allow-negative", is_flag=True, help="Accept negative sales (returns, corrections).")
@click.option("--skip-known", is_flag=True, help="Do not copy a file whose content was already uploaded.")
def upload(files, columns, date_format, timezone, encoding, delimiter, allow_negative, skip_known):
    """Copy FILES into the landing folder (atomically), with their upload options."""
    from tsplatform.warehouse import uploads as upload_table

    try:
        options = UploadOptions(
            parse_column_mapping(columns), date_format, encoding, delimiter, allow_negative, timezone
        ).validated()
    except InvalidOptionsError as problem:
        raise click.UsageError(str(problem)) from problem
    paths = settings.data_paths().ensure()
    warehouse = _warehouse()
    for file in files:
        if not file.is_file():
            raise click.ClickException(f"{file}: no such file (or not a regular file)")
        if not os.access(file, os.R_OK):
            raise click.ClickException(f"{file}: not readable")
        digest = sha256_of(file)
        with warehouse.transaction() as session:
            known = upload_table.batch_with_hash(session, digest)
        if known and skip_known:
            click.echo(f"{file.name}: already uploaded as batch {known}; skipped")
            continue
        target = copy_into_landing(file, paths.landing, options)
        status = f"already uploaded as batch {known}: it will be archived as a duplicate" if known else "new content"
        click.echo(f"{file.name}: copied to {target} ({status}, sha256 {digest[:12]})")


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def ingest(fmt):
    """Process everything waiting in landing now, as Dagster runs; exit 1 if a batch failed."""
    from tsplatform.definitions import defs
    from tsplatform.instance import open_instance
    from tsplatform.local_runs import ingest_landing_now
    from tsplatform.warehouse import uploads as upload_table

    warehouse = _warehouse()
    with open_instance() as instance:
        report = ingest_landing_now(instance, defs(), settings.data_paths(), warehouse)
    for registration in report.tick.registrations:
        if registration.status != "uploaded":
            click.echo(registration.describe(), err=True)
    for batch in report.resumed:
        click.echo(f"resumed batch {batch}: its earlier run was interrupted", err=True)
    seen = [r.batch_num for r in report.tick.registrations] + report.tick.waiting_batches + report.resumed
    batches = list(dict.fromkeys(seen))  # in order, once each
    if not batches:
        click.echo("nothing waiting in landing")
        return
    with warehouse.transaction() as session:
        frame = upload_table.list_uploads(session)
    frame = frame[frame["batch_num"].isin(batches)]
    emit(_readable(frame[_REPORT_COLUMNS], fmt), fmt)
    if (frame["status"] == "failed").any():
        sys.exit(1)


_REPORT_COLUMNS = [
    "batch_num", "original_filename", "status", "num_total_rows", "num_rejected_rows", "num_imputed_rows",
    "num_duplicate_key_rows", "num_inserted_rows", "num_updated_rows", "num_unchanged_rows", "duplicate_of", "error_log",
    "notes",
]


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--limit", type=int, default=None)
@click.option("--all-columns", is_flag=True, help="Show every column of upload_metadata.")
def uploads(fmt, limit, all_columns):
    """Every upload: file, batch, status, counts, what it duplicates, error log, notes."""
    from tsplatform.warehouse import uploads as upload_table

    with _warehouse().transaction() as session:
        frame = upload_table.list_uploads(session, limit=limit)
    emit(frame if all_columns or fmt != "table" else _readable(frame[["uploaded_at", *_REPORT_COLUMNS]], fmt), fmt)


def _readable(frame, fmt: str):
    """Short headers for people (``num_inserted_rows`` -> ``inserted``); machines keep the column names."""
    if fmt != "table":
        return frame
    return frame.rename(columns=lambda c: c.removeprefix("num_").removesuffix("_rows").replace("original_filename", "file"))


@click.command()
@click.option("--category", default=None)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First date (YYYY-MM-DD).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last date (YYYY-MM-DD).")
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def invoices(category, start, end, limit, fmt):
    """Rows of invoice_data, filtered."""
    from tsplatform.warehouse import invoices as invoice_table

    with _warehouse().transaction() as session:
        frame = invoice_table.read_invoices(
            session, category, start.date() if start else None, end.date() if end else None, limit
        )
    if not frame.empty:
        frame["date"] = frame["date"].dt.strftime("%Y-%m-%d") if hasattr(frame["date"], "dt") else frame["date"]
    emit(frame, fmt)
