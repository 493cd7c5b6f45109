"""The processes and servers a test relies on: waiting for what they do, finding the ones it started
(orphans included: each carries a marker in its environment), stopping them, and what to do when a
server is missing."""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tsplatform import supervision

MARKER = "TSPLATFORM_TEST_PROCESS_MARK"
T = TypeVar("T")


def wait_for(probe: Callable[[], T], seconds: float, what: str, every: float = 1.0) -> T:
    """The first true answer of ``probe``, asked every ``every`` seconds; an AssertionError naming
    ``what`` when ``seconds`` pass without one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def marked_processes(mark: str) -> dict[int, str]:
    """pid -> command line of every live (non-zombie) process whose environment has ``mark``."""
    found = {}
    needle = f"{MARKER}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != b"Z":
            found[int(entry.name)] = command.strip()
    return found


def wait_until_gone(mark: str, seconds: float) -> dict[int, str]:
    """Survivors after ``seconds`` (empty as soon as none is left)."""
    start = time.monotonic()
    while (left := marked_processes(mark)) and time.monotonic() < start + seconds:
        time.sleep(0.2)
    print(f"{len(left)} process(es) left after {time.monotonic() - start:.1f} s")  # shown with -rP
    return left


def kill_leftovers(mark: str) -> None:
    for pid in marked_processes(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def missing_in_ci(message: str):
    """A server or binary a test needs is not there: skip locally, fail in CI (``CI`` set)."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium() -> str:
    """Debian's chromium (``make browser`` installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing_in_ci("Debian's chromium is not installed (make browser installs it)")
    return found


def stop_groups(processes: list[subprocess.Popen], seconds: float = 30, stop_signal: int = signal.SIGTERM) -> None:
    """``stop_signal`` to each process group started with ``start_new_session``; SIGKILL what outlives ``seconds``."""
    supervision.stop_groups(processes, seconds, stop_signal)
