"""Register files found in landing: hash, de-duplicate, move, and record an ``upload_metadata`` row.

This is the body of the landing sensor (and of ``tsplatform ingest``), kept free of Dagster so it
can be tested and reused. A lock file serialises registrations, so the daemon's sensor and a CLI
ingest never register the same file twice.

A file leaves landing only together with its row: inside the transaction that inserts its
``upload_metadata`` row it is moved (to ``uploads/``, ``duplicates/`` or ``quarantine/``), and if
the row cannot be written or committed the move is undone, so the file is back in landing for the
next look and never sits elsewhere unaccounted for.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock

from tsplatform.ingest.landing import (
    copy_into_landing,
    make_batch_id,
    move_without_overwrite,
    ready_files,
    sha256_of,
    stored_name,
)
from tsplatform.ingest.options import InvalidOptionsError, UploadOptions, read_sidecar, sidecar_path
from tsplatform.ingest.timings import stage
from tsplatform.settings import DataPaths
from tsplatform.warehouse import Warehouse, utc_now
from tsplatform.warehouse import uploads as upload_table

DEFAULT_MAX_UPLOAD_BYTES = 1 << 30


@dataclass(frozen=True)
class Registration:
    batch_num: str
    original_filename: str
    stored_path: Path
    file_hash: str
    status: str  # uploaded | duplicate | failed
    duplicate_of: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.status == "duplicate":
            return f"{self.original_filename} duplicates batch {self.duplicate_of}; archived as {self.stored_path.name}"
        if self.status == "failed":
            return f"{self.original_filename} refused as batch {self.batch_num}: {self.error}"
        return f"{self.original_filename} registered as batch {self.batch_num}"


def max_upload_bytes() -> int:
    return int(os.environ.get("TSPLATFORM_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def register_landed_files(paths: DataPaths, warehouse: Warehouse, settle_seconds: float | None = None) -> list[Registration]:
    """Register every ready file in landing; returns what became of each."""
    paths.ensure()
    with landing_lock(paths):
        kwargs = {} if settle_seconds is None else {"settle_seconds": settle_seconds}
        return [register_file(file, paths, warehouse) for file in ready_files(paths.landing, **kwargs)]


def land_and_register(
    source: Path | BinaryIO, name: str, options: UploadOptions, paths: DataPaths, warehouse: Warehouse
) -> Registration:
    """Copy an upload into landing as ``tsplatform upload`` does, and register it at once, so the
    caller learns its batch id (``POST /upload``). The landing lock is held from the copy to the
    row, so no sensor takes the file in between; its run is then asked for like any waiting batch."""
    paths.ensure()
    with landing_lock(paths):
        return register_file(copy_into_landing(source, paths.landing, options, name), paths, warehouse)


def landing_lock(paths: DataPaths) -> FileLock:
    """Held by whoever registers files, so no file is registered twice."""
    return FileLock(str(paths.root / ".landing.lock"), timeout=120)


def register_file(file: Path, paths: DataPaths, warehouse: Warehouse) -> Registration:
    with stage("hash and register"):
        return _register_file(file, paths, warehouse)


def _register_file(file: Path, paths: DataPaths, warehouse: Warehouse) -> Registration:
    uploaded_at = utc_now().replace(microsecond=0)
    if file.is_symlink():
        return _refuse(file, paths, warehouse, uploaded_at, "the file is a symbolic link; copy the real file into landing")
    file_hash = sha256_of(file)
    size = file.stat().st_size
    with warehouse.transaction() as session:
        batch_num = _free_batch_id(session, make_batch_id(file.name, uploaded_at, file_hash))
        earlier = upload_table.batch_with_hash(session, file_hash)
    if earlier:
        archived = _move_and_record(
            warehouse, file, paths, paths.duplicates, stored_name(batch_num, file.name, uploaded_at),
            lambda archived: _new_upload(
                batch_num, file, archived, file_hash, size, uploaded_at, "duplicate", duplicate_of=earlier
            ),
        )
        return Registration(batch_num, file.name, archived, file_hash, "duplicate", duplicate_of=earlier)

    error = None
    try:
        options = read_sidecar(file)
    except (InvalidOptionsError, ValueError, TypeError) as problem:
        options, error = None, f"the upload options beside the file are invalid: {problem}"
    if size > max_upload_bytes():
        error = f"the file is {size:,} bytes, over the upload limit of {max_upload_bytes():,} bytes (TSPLATFORM_MAX_UPLOAD_BYTES)"

    stored = _move_and_record(
        warehouse, file, paths, paths.uploads, stored_name(batch_num, file.name, uploaded_at),
        lambda stored: _new_upload(
            batch_num, file, stored, file_hash, size, uploaded_at,
            "failed" if error else "uploaded",
            mapping=options.column_mapping if options else None,
            date_format=options.date_format if options else None,
            timezone=options.timezone if options else None,
            encoding=options.encoding if options else None,
            delimiter=options.delimiter if options else None,
            error_log=error,
        ),
    )
    return Registration(batch_num, file.name, stored, file_hash, "failed" if error else "uploaded", error=error)


def _refuse(file: Path, paths: DataPaths, warehouse: Warehouse, uploaded_at: dt.datetime, reason: str) -> Registration:
    """Keep the entry (moved aside, not followed) and record why it was refused."""
    with warehouse.transaction() as session:
        batch_num = _free_batch_id(session, make_batch_id(file.name, uploaded_at, "000000"))
    kept = _move_and_record(
        warehouse, file, paths, paths.rejected_files, stored_name(batch_num, file.name, uploaded_at),
        lambda kept: _new_upload(batch_num, file, kept, "", 0, uploaded_at, "failed", error_log=reason),
    )
    return Registration(batch_num, file.name, kept, "", "failed", error=reason)


def _free_batch_id(session, batch_id: str) -> str:
    """``batch_id``, or ``batch_id-2``, ``-3``... when the same name and content (a duplicate, a
    failed file sent again) arrived in the same second. Registrations hold the landing lock, so
    the id stays free until it is recorded."""
    candidate, number = batch_id, 1
    while upload_table.get_upload(session, candidate) is not None:
        number += 1
        candidate = f"{batch_id}-{number}"
    return candidate


def _move_and_record(
    warehouse: Warehouse, file: Path, paths: DataPaths, folder: Path, name: str,
    upload_for: Callable[[Path], upload_table.NewUpload],
) -> Path:
    """Move ``file`` (and its sidecar) into ``folder`` and insert its row in one transaction; if the
    row is not committed, move both back to landing and re-raise: the next look registers it again."""
    moved = None
    try:
        with warehouse.transaction() as session:
            moved = move_without_overwrite(file, folder, name)
            _move_sidecar(file, moved)
            upload_table.insert_upload(session, upload_for(moved))
    except BaseException:
        if moved is not None:
            back = move_without_overwrite(moved, paths.landing, file.name)
            _move_sidecar(moved, back)
        raise
    return moved


def _move_sidecar(original: Path, stored: Path) -> None:
    sidecar = sidecar_path(original)
    if sidecar.exists():
        move_without_overwrite(sidecar, stored.parent, sidecar_path(stored).name)


def _new_upload(batch_num, file, stored, file_hash, size, uploaded_at, status, *, duplicate_of=None, mapping=None,
                date_format=None, timezone=None, encoding=None, delimiter=None, error_log=None) -> upload_table.NewUpload:
    return upload_table.NewUpload(
        batch_num=batch_num,
        original_filename=file.name,
        stored_filename=str(stored),
        file_hash=file_hash,
        file_size_bytes=size,
        uploaded_at=uploaded_at,
        status=status,
        column_mapping=json.dumps(mapping, ensure_ascii=False) if mapping else None,
        date_format=date_format,
        timezone=timezone,
        encoding=encoding,
        delimiter=delimiter,
        duplicate_of=duplicate_of,
        error_log=error_log,
    )


@dataclass
class LandingTick:
    """One look at the landing folder, shared by the landing sensor and ``tsplatform ingest``."""

    registrations: list[Registration]
    waiting_batches: list[str]  # registered, not yet started: each is owed a run


def look_at_landing(paths: DataPaths, warehouse: Warehouse, settle_seconds: float | None = None) -> LandingTick:
    """Register what has landed, then list every batch still waiting for its run."""
    registrations = register_landed_files(paths, warehouse, settle_seconds=settle_seconds)
    with warehouse.transaction() as session:
        waiting = upload_table.batches_waiting(session)
    return LandingTick(registrations, waiting)
