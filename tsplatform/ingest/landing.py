"""The landing folder: which files are ready, their hashes, batch ids, and safe moves.

Only plain files with a final name are picked up. Writers use a temporary name and rename when
done (``tsplatform upload`` does), so dot-files and temporary suffixes are skipped; a file changed
in the last moments is left for the next look. Files are moved, never deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from tsplatform.ingest.options import SIDECAR_SUFFIX, UploadOptions, sidecar_path

TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
SETTLE_SECONDS = 2.0  # a file modified more recently than this may still be being written


def is_candidate_name(name: str) -> bool:
    lowered = name.lower()
    return not (
        name.startswith(".")
        or lowered.endswith(TEMPORARY_SUFFIXES)
        or lowered.endswith(SIDECAR_SUFFIX)
    )


def ready_files(landing: Path, settle_seconds: float = SETTLE_SECONDS, now: float | None = None) -> list[Path]:
    """Files in ``landing`` that look complete, oldest first. Symlinks are returned too (the caller
    refuses them); sub-folders are ignored."""
    now = time.time() if now is None else now
    found = []
    for entry in os.scandir(landing):
        if not is_candidate_name(entry.name):
            continue
        if entry.is_symlink():
            found.append((0.0, Path(entry.path)))
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        mtime = entry.stat(follow_symlinks=False).st_mtime
        if now - mtime < settle_seconds:
            continue
        found.append((mtime, Path(entry.path)))
    return [path for _, path in sorted(found)]


def wait_until_settled(landing: Path, settle_seconds: float = SETTLE_SECONDS, max_wait: float = 10.0) -> None:
    """Give files that just arrived (``tsplatform upload`` a moment ago) time to count as complete,
    so an ingest right after an upload takes them; a file still growing stays fresh and is skipped."""
    deadline = time.time() + max_wait
    while time.time() < deadline:
        newest = max(
            (e.stat(follow_symlinks=False).st_mtime for e in os.scandir(landing) if is_candidate_name(e.name)),
            default=0.0,
        )
        remaining = settle_seconds - (time.time() - newest)
        if remaining <= 0:
            return
        time.sleep(min(remaining + 0.05, max(deadline - time.time(), 0)))


def copy_into_landing(source: Path | BinaryIO, landing: Path, options: UploadOptions, name: str | None = None) -> Path:
    """Put a file (a path, or an open binary file read from where it is) into ``landing`` as
    ``name`` (default: its own), with its options: ``tsplatform upload`` and ``POST /upload``.

    Options first, then the file: both written under a dot-name and renamed, so the sensor never
    sees half a file or a file without its options. A name already in landing gets a counter."""
    name = name or Path(source if isinstance(source, (str, os.PathLike)) else source.name).name
    target = _free_target(landing, name)
    temporary = landing / f".{target.name}.tmp"
    if isinstance(source, (str, os.PathLike)):
        shutil.copyfile(source, temporary)
    else:
        with open(temporary, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
    return _place(temporary, landing, name, options)


def hash_into_landing(
    source: Path, landing: Path, options: UploadOptions, keep: Callable[[str], bool] = lambda digest: True
) -> tuple[Path | None, str]:
    """``copy_into_landing`` for ``tsplatform upload``, with the file's SHA-256: the kernel copies
    the file (``shutil.copyfile``) in a thread while this one hashes it, so the command takes about
    as long as the longer of the two. ``keep(digest)`` decides, once the copy is whole, whether it
    goes into landing; if not, the copy is removed and the path is None.

    The digest is the source's as read for hashing: it names the content for the look-up only. The
    batch's recorded hash is computed again from the copy when it is registered."""
    temporary = landing / f".{source.name}.{os.getpid()}.tmp"
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            copying = pool.submit(shutil.copyfile, source, temporary)
            hexdigest = sha256_of(source, _HASH_CHUNK)
            copying.result()
        if not keep(hexdigest):
            temporary.unlink()
            return None, hexdigest
        return _place(temporary, landing, source.name, options), hexdigest
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_HASH_CHUNK = 1 << 20


def _free_target(landing: Path, name: str) -> Path:
    target = landing / name
    counter = 1
    while target.exists():
        target = landing / f"{Path(name).stem}.{counter}{Path(name).suffix}"
        counter += 1
    return target


def _place(temporary: Path, landing: Path, name: str, options: UploadOptions) -> Path:
    """Rename a complete copy into landing under ``name`` (or a free variant), its options first."""
    target = _free_target(landing, name)
    if options != UploadOptions():
        sidecar = sidecar_path(target)
        written = landing / f".{sidecar.name}.tmp"
        written.write_text(options.to_json(), encoding="utf-8")
        os.replace(written, sidecar)
    # The copy is complete the moment it is renamed into landing: date it as already settled, so
    # the sensor and an ingest right after take it without waiting (upload order is kept).
    settled = time.time() - SETTLE_SECONDS
    os.utime(temporary, (settled, settled))
    os.replace(temporary, target)
    return target


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def safe_stem(name: str, max_length: int = 80) -> str:
    """A file-name stem fit for a batch id, a partition key and a stored file name."""
    stem = Path(name).stem if Path(name).suffix else name
    cleaned = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._-")
    return cleaned[:max_length] or "upload"


def make_batch_id(original_name: str, uploaded_at: dt.datetime, file_hash: str) -> str:
    """``<stem>_<unix-seconds>_<first 6 hex of the hash>``."""
    seconds = int(uploaded_at.replace(tzinfo=dt.UTC).timestamp())
    return f"{safe_stem(original_name)}_{seconds}_{file_hash[:6]}"


def stored_name(batch_id: str, original_name: str, uploaded_at: dt.datetime) -> str:
    suffix = re.sub(r"[^\w.]", "", Path(original_name).suffix)[:10] or ".csv"
    return f"{uploaded_at:%Y%m%dT%H%M%SZ}_{batch_id}{suffix}"


def move_without_overwrite(source: Path, folder: Path, name: str) -> Path:
    """Move ``source`` into ``folder`` under ``name``; never replaces an existing file (adds a
    counter instead). Hard-link then unlink: the link fails atomically if the name is taken."""
    folder.mkdir(parents=True, exist_ok=True)
    base, suffix = Path(name).stem, Path(name).suffix
    for counter in range(10_000):
        target = folder / (name if counter == 0 else f"{base}.{counter}{suffix}")
        try:
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            continue
        os.unlink(source)
        return target
    raise FileExistsError(f"no free name for {name} in {folder}")
