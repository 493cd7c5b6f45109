"""``tsplatform upload | ingest | uploads | invoices``: the invoice path from the command line."""

from __future__ import annotations

import gc
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import click

from tsplatform import settings
from tsplatform.cli.output import FORMATS, Layout, emit
from tsplatform.cli.reads import reading
from tsplatform.ingest.landing import hash_into_landing
from tsplatform.ingest.options import InvalidOptionsError, UploadOptions, parse_column_mapping
from tsplatform.ingest.timings import StageTimes, recording, seconds_since_process_start, stage, write_timings

TIMINGS_HELP = "Write the seconds of each stage as JSON to FILE ('-': standard error)."


def _warehouse():
    from tsplatform.warehouse import open_warehouse

    return open_warehouse(settings.warehouse_url())


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--columns", "columns",
              help='Map source columns, e.g. "Order Date=Date,Product ID=product_id,Category=category,Sales=sales".')
@click.option("--date-format", default="%Y-%m-%d", show_default=True, help="strptime format of the date column.")
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA zone whose calendar day an invoice belongs to: a timestamp with an offset (%z) is converted to it, "
    "a naive one is its wall-clock time; the time of day is then dropped.",
)
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="Text encoding of the file (utf-8-sig reads UTF-8 with or without BOM).")
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter.")
@click.option("--allow-negative", is_flag=True, help="Accept negative sales (returns, corrections).")
@click.option("--skip-known", is_flag=True, help="Do not copy a file whose content was already uploaded.")
@click.option("--timings", "timings_file", metavar="FILE", default=None, help=TIMINGS_HELP)
def upload(files, columns, date_format, timezone, encoding, delimiter, allow_negative, skip_known, timings_file):
    """Copy FILES into the landing folder (atomically), with their upload options.

    Each file is read once: hashed while it is copied; the copy enters landing only whole."""
    entered = seconds_since_process_start()
    with recording() as times:
        _upload(files, columns, date_format, timezone, encoding, delimiter, allow_negative, skip_known)
    if timings_file:
        _write_timings(timings_file, "upload", entered, times, [])


def _upload(files, columns, date_format, timezone, encoding, delimiter, allow_negative, skip_known):
    try:
        options = UploadOptions(
            parse_column_mapping(columns), date_format, encoding, delimiter, allow_negative, timezone
        ).validated()
    except InvalidOptionsError as problem:
        raise click.UsageError(str(problem)) from problem
    paths = settings.data_paths().ensure()
    for file in files:
        if not file.is_file():
            raise click.ClickException(f"{file}: no such file (or not a regular file)")
        if not os.access(file, os.R_OK):
            raise click.ClickException(f"{file}: not readable")
    # The warehouse (its driver's import, the connection) opens in a thread while the first file is
    # hashed and copied: both wait mostly outside the GIL (disk, hashlib), so neither waits for the other.
    with ThreadPoolExecutor(max_workers=1) as pool:
        opening = pool.submit(_opened_warehouse_to_look_up)
        for file in files:
            _upload_one(file, paths.landing, options, skip_known, opening)


def _upload_one(file: Path, landing: Path, options: UploadOptions, skip_known: bool, opening: Future) -> None:
    known = None

    def keep(digest: str) -> bool:
        nonlocal known
        warehouse = opening.result()
        if warehouse is not None:
            with stage("look up the hash"), warehouse.transaction() as session:
                known = _batch_with_hash(session, digest)
        return not (known and skip_known)

    with stage("hash and copy"):
        target, digest = hash_into_landing(file, landing, options, keep)
    if target is None:
        click.echo(f"{file.name}: already uploaded as batch {known}; skipped")
        return
    status = f"already uploaded as batch {known}: it will be archived as a duplicate" if known else "new content"
    click.echo(f"{file.name}: copied to {target} ({status}, sha256 {digest[:12]})")


def _opened_warehouse_to_look_up():
    with stage("open warehouse"):
        return _warehouse_to_look_up()


def _warehouse_to_look_up():
    """Where ``upload`` looks a hash up: the database only opened, not migrated (no schema change
    from a command that copies a file; ``ingest`` migrates). A database without the table yet has
    no upload in it; nor has a DuckDB file not created yet: None, and no driver imported."""
    from tsplatform.warehouse import backend_for, duckdb_path

    url = settings.warehouse_url()
    path = duckdb_path(url)
    if path is not None and not Path(path).is_file():
        return None
    return backend_for(url)


def _batch_with_hash(session, digest: str) -> str | None:
    from tsplatform.warehouse import uploads as upload_table

    try:
        return upload_table.batch_with_hash(session, digest)
    except Exception as problem:
        if _is_missing_table(problem):
            return None  # a warehouse not migrated yet: nothing was uploaded to it
        raise


def _is_missing_table(problem: Exception) -> bool:
    duckdb, psycopg = sys.modules.get("duckdb"), sys.modules.get("psycopg")  # whichever the warehouse loaded
    return bool((duckdb is not None and isinstance(problem, duckdb.CatalogException))
                or (psycopg is not None and isinstance(problem, psycopg.errors.UndefinedTable)))


# the stages of the work, as the ingest code times them (``tsplatform.ingest.timings``)
WORK_STAGES = ("hash and register", "read", "validate", "impute", "merge", "write", "accounting")


def _write_timings(target: str, command: str, entered: float | None, times: StageTimes, work: list[str]) -> None:
    """Start-up (process start to the command, imports included), each timed stage, and for
    ``ingest`` Dagster's share: the runs' time less the work timed inside them."""
    stages = {"start-up": round(entered, 4) if entered is not None else None}
    recorded = times.as_dict()
    run = recorded.pop("dagster: runs", None)
    stages.update(recorded)
    if run is not None:
        stages["dagster bookkeeping"] = round(max(run - times.total(work), 0.0), 4)
    write_timings(target, command, stages, total=seconds_since_process_start(),
                  peak_rss_mb_after={name: round(mb, 1) for name, mb in times.peak_mb.items()})


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--timings", "timings_file", metavar="FILE", default=None, help=TIMINGS_HELP)
def ingest(fmt, timings_file):
    """Process everything waiting in landing now, as Dagster runs; exit 1 if a batch failed."""
    entered = seconds_since_process_start()
    with recording() as times:
        try:
            _ingest(fmt)
        finally:
            if timings_file:
                _write_timings(timings_file, "ingest", entered, times, list(WORK_STAGES))
            if Path(sys.argv[0]).name == "tsplatform":
                # The process ends now. Dagster, pandas and the batch leave millions of objects, which
                # the interpreter's final garbage collections would walk for 1-4 s after the work
                # is done: frozen, they are skipped (files, connections and atexit handlers close as
                # usual). Only in the command itself: a caller that goes on (tests) keeps collecting.
                gc.freeze()


def _ingest(fmt):
    with stage("dagster: imports and definitions"):
        from tsplatform.definitions import defs
        from tsplatform.instance import open_instance
        from tsplatform.local_runs import ingest_landing_now
        from tsplatform.warehouse import uploads as upload_table

        definitions = defs()
    with stage("open warehouse"):
        warehouse = _warehouse()
    with stage("dagster: instance"):
        instance = open_instance()
    try:
        with stage("dagster: runs"):  # registration, the batches' runs and Dagster's records of them
            report = ingest_landing_now(instance, definitions, settings.data_paths(), warehouse)
    finally:
        with stage("dagster: instance"):  # as ``with instance:``, timed: its storage and launchers closed
            instance.dispose()
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
    with stage("report"), warehouse.transaction() as session:
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
