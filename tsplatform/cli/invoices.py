"""``tsplatform upload | ingest | uploads | invoices``: the invoice path from the command line."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from tsplatform import settings
from tsplatform.cli.output import FORMATS, Layout, emit
from tsplatform.cli.reads import reading
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
    emit(with_note(frame) if fmt == "table" else frame, fmt, INGEST_LAYOUT)
    if (frame["status"] == "failed").any():
        sys.exit(1)


UPLOADS_LAYOUT = Layout(  # what became of each upload; inserted/updated: `ingest`, csv, json
    {"uploaded_at": "uploaded", "batch_num": "batch", "status": "status", "num_total_rows": "rows",
     "num_rejected_rows": "rejected", "note": "note"},
    text=frozenset({"batch_num", "note"}),
)
INGEST_LAYOUT = Layout(  # the batches just run: what they changed
    {"batch_num": "batch", "status": "status", "num_total_rows": "rows", "num_inserted_rows": "new",
     "num_updated_rows": "updated", "num_rejected_rows": "rejected", "note": "note"},
    text=frozenset({"batch_num", "note"}),
)


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--all-columns", is_flag=True, help="Show every column of upload_metadata in the table.")
def uploads(fmt, limit, all_columns):
    """Every upload: batch, status, counts, and why it failed or what it filled (the note).

    The table shows what fits the terminal; csv and json carry every column of upload_metadata."""
    from tsplatform import read

    frame = reading(lambda: read.uploads(limit=limit))
    if fmt != "table" or all_columns:
        emit(frame, fmt, None, empty="no uploads yet")
    else:
        emit(with_note(frame), fmt, UPLOADS_LAYOUT, empty="no uploads yet")


def with_note(frame):
    """One ``note`` column for people: the error log of a failed batch, what a duplicate repeats,
    else what a completed batch ignored or filled."""
    def text(value):
        return value if isinstance(value, str) and value else None

    notes = [
        text(error) or (f"duplicate of {duplicate_of}" if text(duplicate_of) else None) or text(note)
        for error, duplicate_of, note in zip(frame["error_log"], frame["duplicate_of"], frame["notes"])
    ]
    return frame.assign(note=notes)


INVOICES_LAYOUT = Layout(
    {"date": "date", "category": "category", "product_id": "product", "sales": "sales", "is_imputed": "imputed",
     "version": "ver", "batch_num": "batch", "file_hash": "hash"},
    ids=frozenset({"file_hash"}), text=frozenset({"category", "product_id", "batch_num"}),
)


@click.command()
@click.option("--category", default=None)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First date (YYYY-MM-DD).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last date (YYYY-MM-DD).")
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def invoices(category, start, end, limit, fmt):
    """Rows of invoice_data, filtered (the table shortens hashes; csv and json are full)."""
    from tsplatform import read

    frame = reading(lambda: read.invoices(category, start, end, limit))
    if not frame.empty and fmt != "table":
        frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    emit(frame, fmt, INVOICES_LAYOUT)


REJECTED_LAYOUT = Layout(  # the reasons quote the refused values; the raw line is in csv and json
    {"batch_num": "batch", "line_number": "line", "reason": "reason"},
    text=frozenset({"batch_num", "reason"}), widest={"batch_num": 24},
)


@click.command()
@click.option("--batch", default=None, help="Only this batch: its id as `tsplatform uploads` shows it (a unique prefix will do).")
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def rejected(batch, limit, fmt):
    """Rows that failed validation: batch, line in the file, raw values and every reason.

    An unknown batch is an error (exit 1); a batch without rejected rows prints none."""
    from tsplatform import read

    if batch is not None:
        batch = one_batch(batch, reading(read.uploads)["batch_num"].tolist())
    frame = reading(lambda: read.rejected_rows(batch=batch))
    if limit is not None:
        frame = frame.head(limit)
    layout = REJECTED_LAYOUT.without("batch_num") if batch else REJECTED_LAYOUT
    emit(frame, fmt, layout, empty=f"no rejected rows{f' in batch {batch}' if batch else ''}")


def one_batch(wanted: str, known: list[str]) -> str:
    """The batch id ``wanted`` names: itself, or the one id it begins (a table cuts long ids)."""
    if wanted in known:
        return wanted
    matches = [batch for batch in known if batch.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise click.ClickException(f"batch {wanted!r} is ambiguous: {', '.join(matches)}")
    raise click.ClickException(f"no batch {wanted!r} (`tsplatform uploads` lists them)")
