"""The supervisor behind ``make run`` on small real processes: it stops children that ignore their
stop signal, children started from a script that ignores SIGINT, and its children when its own
parent dies."""

import os
import shlex
import signal
import subprocess
import sys
import time
import uuid

from tsplatform_tests.processes import MARKER, kill_leftovers, marked_processes, wait_until_gone

GRACE = 1.0


def supervisor_code(child: str, stop_signal: int) -> str:
    """A supervisor of one child running ``child`` (Python), and the child's own child."""
    argv = [sys.executable, "-c", f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {child!r}]); {child}"]
    return (
        "import sys; from tsplatform.supervision import Command, run_together; "
        f"sys.exit(run_together([Command('child', {argv!r}, stop_signal={int(stop_signal)})], grace={GRACE}))"
    )


def start(argv: list[str], mark: str) -> subprocess.Popen:
    env = {**os.environ, MARKER: mark}
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_for(mark: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(marked_processes(mark)) < count:
        assert time.monotonic() < deadline, marked_processes(mark)
        time.sleep(0.1)
    time.sleep(0.5)  # let the children install their handlers


def test_a_child_that_ignores_its_stop_signal_is_killed_after_the_grace_period():
    mark = uuid.uuid4().hex
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    process = start([sys.executable, "-c", supervisor_code(stubborn, signal.SIGTERM)], mark)
    try:
        wait_for(mark, 3)  # supervisor, child, grandchild
        stopped_at = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        assert wait_until_gone(mark, GRACE + 3) == {}
        assert time.monotonic() - stopped_at >= GRACE * 0.9  # it was given its grace first
        assert process.wait(timeout=5) == 0
    finally:
        kill_leftovers(mark)


def test_started_by_a_script_with_sigint_ignored_sigint_still_stops_everything_at_once():
    mark = uuid.uuid4().hex
    sleeper = "import time; time.sleep(60)"
    script = f"{shlex.join([sys.executable, '-c', supervisor_code(sleeper, signal.SIGINT)])} & wait"
    process = start(["bash", "-c", script], mark)
    try:
        wait_for(mark, 4)  # bash, supervisor, child, grandchild
        stopped_at = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        assert wait_until_gone(mark, GRACE + 3) == {}
        assert time.monotonic() - stopped_at < GRACE  # the children stopped on SIGINT, not SIGKILL
    finally:
        kill_leftovers(mark)


def test_children_stop_when_the_supervisors_parent_dies():
    mark = uuid.uuid4().hex
    sleeper = "import time; time.sleep(60)"
    parent = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {supervisor_code(sleeper, signal.SIGTERM)!r}]); "
        "time.sleep(60)"
    )
    process = start([sys.executable, "-c", parent], mark)
    try:
        wait_for(mark, 4)  # parent, supervisor, child, grandchild
        process.kill()  # only the parent: nobody signals the supervisor
        process.wait()
        assert wait_until_gone(mark, GRACE + 3) == {}
    finally:
        kill_leftovers(mark)
