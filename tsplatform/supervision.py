"""Run a few long-lived commands as one unit, and stop them all, whoever asks and however.

Each child runs in its own session (so its own process group), started with default signal
handling even if this process was started with SIGINT ignored (a script's ``cmd &``). On SIGINT,
SIGTERM or SIGHUP, when one child exits, or when our parent dies, every child's group gets its
stop signal, then SIGKILL after a grace period, and we wait until the groups are empty: no
process of ours outlives us. Stopping is our job, not the shell's: a shell without a terminal
does not pass signals on to its children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 2.5  # then SIGKILL: dagster dev needs 2-15 s to shut down, depending on load; a stop takes at most 4 s
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Command:
    name: str
    argv: Sequence[str]
    stop_signal: int = signal.SIGTERM  # what asks this command (its whole process group) to stop
    quiet: bool = False  # discard its output


def run_together(commands: Sequence[Command], grace: float = GRACE_SECONDS) -> int:
    """Start ``commands``, wait until a stop signal, a child's exit or our parent's death, stop
    them all. Returns 0 when asked to stop, else a failure: the exit code of the child that ended
    first (1 if that was 0, 128 + N if signal N killed it)."""
    received: list[int] = []
    for number in STOP_SIGNALS:  # a Python handler is reset to the default in each child on exec
        signal.signal(number, lambda signum, _frame: received.append(signum))
    parent = os.getppid()
    started: list[tuple[Command, subprocess.Popen]] = []
    ended: int | None = None
    try:
        for command in commands:
            output = subprocess.DEVNULL if command.quiet else None
            started.append((command, subprocess.Popen(command.argv, start_new_session=True, stdout=output, stderr=output)))
        while not received and os.getppid() == parent:
            finished = [process.returncode for _, process in started if process.poll() is not None]
            if finished:
                ended = finished[0]
                break
            time.sleep(POLL_SECONDS)
    finally:
        stop_all(started, grace)
    if ended is None:
        return 0
    return 128 - ended if ended < 0 else (ended or 1)


def stop_all(started: Sequence[tuple[Command, subprocess.Popen]], grace: float) -> None:
    """Each group gets its stop signal; what is left after ``grace`` seconds gets SIGKILL."""
    for command, process in started:
        _signal_group(process, command.stop_signal)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(process) for _, process in started):
        time.sleep(POLL_SECONDS)
    for _, process in started:
        if _group_alive(process):
            _signal_group(process, signal.SIGKILL)
    for _, process in started:
        process.wait()


def default_stop_signals() -> None:
    """For ``Popen(preexec_fn=...)``: SIGINT and SIGTERM back to their defaults in the child. A parent
    started in the background (``cmd &``, a CI script) passes SIGINT on ignored, and Dagster's
    processes map SIGTERM to SIGINT's handler, so without this they would ignore SIGTERM too."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def stop_groups(
    processes: Sequence[subprocess.Popen], grace: float = GRACE_SECONDS, stop_signal: int = signal.SIGTERM
) -> None:
    """``stop_signal`` to each process group (children started with ``start_new_session``), SIGKILL
    to what is left after ``grace`` seconds; returns when every group is empty (tests, benchmarks)."""
    stop_all([(Command("child", (), stop_signal), process) for process in processes], grace)


def _signal_group(process: subprocess.Popen, number: int) -> None:
    try:
        os.killpg(process.pid, number)  # the group id is the leader's pid (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(process: subprocess.Popen) -> bool:
    """True while any process of the child's group runs (zombies waiting to be reaped do not)."""
    process.poll()
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()  # after "pid (comm)"
            except OSError:
                continue
            if fields[0] != b"Z" and int(fields[2]) == process.pid:  # state, ppid, pgrp
                return True
    return False
