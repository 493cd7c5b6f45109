"""One writer per stream folder, and a way for other commands to see who it is.

An ``flock`` on ``writer.lock`` is released by the kernel if the writer dies, so a crash never
leaves a stale lock; the file's JSON content says who holds it (pid, role, sensors) so that
``tsplatform stream spike`` can check a live generator is there to hear it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path

LOCK_FILE = "writer.lock"


class WriterBusyError(RuntimeError):
    """Another process is already writing to this stream folder."""


class WriterLock:
    def __init__(self, folder: Path, owner: dict) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.owner = {"pid": os.getpid(), **owner}
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                holder = active_writer(self.path.parent) or {}
                raise WriterBusyError(
                    f"another writer (pid {holder.get('pid', '?')}, {holder.get('role', 'unknown')}) "
                    f"is writing to {self.path.parent}"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(self.owner).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def active_writer(folder: Path) -> dict | None:
    """The holder's description if a live process writes to ``folder``, else None."""
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            content = os.pread(fd, 64 * 1024, 0)
            try:
                return json.loads(content) if content else {}
            except ValueError:
                return {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
