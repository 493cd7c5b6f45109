"""Finding the processes a test started, orphans included: each carries a marker in its environment."""

import os
import signal
import time
from pathlib import Path

MARKER = "TSPLATFORM_TEST_PROCESS_MARK"


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
