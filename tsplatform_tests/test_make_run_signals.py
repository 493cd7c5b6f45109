"""``make run`` stops with every process it started, whoever stops it: SIGTERM or SIGINT sent to its
process group without a terminal (a service manager, a script, CI), and Ctrl-C in a terminal.

Each test runs the real ``make run`` with a private data folder, Dagster home and ports, waits until
the webserver and the HTTP API (``tsplatform serve``) answer, stops it, and looks for survivors
among all processes carrying a marker in their environment (so orphans reparented away from the
tree are found too).
"""

import os
import pty
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tsplatform_tests.processes import MARKER, kill_leftovers, marked_processes, wait_until_gone

PROJECT = Path(__file__).resolve().parent.parent
START_SECONDS = 240
STOP_SECONDS_WITHOUT_TERMINAL = 10
STOP_SECONDS_IN_TERMINAL = 4

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run(tmp_path: Path):
    """argv and environment of ``make run`` on a private data folder, Dagster home and ports."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    port, mark = free_port(), uuid.uuid4().hex
    env = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"), "PORT": str(port), MARKER: mark,
           "TSPLATFORM_API_PORT": str(free_port())}
    for name in ("TSPLATFORM_WAREHOUSE_URL", "TSPLATFORM_PUBLIC_URL"):
        env.pop(name, None)
    env.pop("MAKEFLAGS", None)
    return ["make", "--no-print-directory", "-C", str(PROJECT), "run", f"DAGSTER_HOME={home}"], env, port, mark


def wait_for_webserver(port: int, alive, env: dict[str, str]) -> None:
    """The Dagster webserver answers, then the API's /health says ok (warehouse and instance)."""
    deadline = time.monotonic() + START_SECONDS
    api = f"http://127.0.0.1:{env['TSPLATFORM_API_PORT']}/health"
    for url, what in ((f"http://127.0.0.1:{port}/server_info", "the webserver"), (api, "tsplatform serve")):
        while not _answers(url):
            assert alive(), f"make run ended before {what} answered"
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not answer at {url} within {START_SECONDS} s")
            time.sleep(1)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def expected_services(processes: dict[int, str]) -> None:
    """The processes a stop must end are really there: dagster dev, its webserver and daemon, the
    generator, the HTTP API."""
    commands = " | ".join(processes.values())
    for part in ("dagster dev", "dagster_webserver", "dagster._daemon", "tsplatform stream", "tsplatform serve"):
        assert part in commands, f"{part!r} not running: {commands}"


def in_a_script(argv: list[str]) -> list[str]:
    """A shell script that starts ``argv`` in the background and waits, as CI scripts do: a shell
    without job control starts a background job with SIGINT and SIGQUIT ignored."""
    return ["bash", "-c", f"{shlex.join(argv)} & wait"]


@pytest.mark.parametrize(
    ("launch", "number"),
    [("script", signal.SIGTERM), ("script", signal.SIGINT), ("direct", signal.SIGTERM), ("direct", signal.SIGINT)],
    ids=["script-SIGTERM", "script-SIGINT", "direct-SIGTERM", "direct-SIGINT"],
)
def test_signal_to_the_group_without_a_terminal_stops_everything(tmp_path, launch, number):
    argv, env, port, mark = make_run(tmp_path)
    process = subprocess.Popen(in_a_script(argv) if launch == "script" else argv, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_webserver(port, lambda: process.poll() is None, env)
        expected_services(marked_processes(mark))
        os.killpg(process.pid, number)
        survivors = wait_until_gone(mark, STOP_SECONDS_WITHOUT_TERMINAL)
        assert survivors == {}, f"still running {STOP_SECONDS_WITHOUT_TERMINAL} s after {number.name}: {survivors}"
        assert process.wait(timeout=5) is not None
    finally:
        kill_leftovers(mark)
        process.poll() is None and process.kill()
        process.wait()


def test_ctrl_c_in_a_terminal_stops_everything(tmp_path):
    argv, env, port, mark = make_run(tmp_path)
    pid, terminal = pty.fork()  # the child leads a new session with the pseudo-terminal as its terminal
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    reader = threading.Thread(target=_drain, args=(terminal,), daemon=True)  # a full terminal would block it
    reader.start()
    try:
        wait_for_webserver(port, lambda: os.waitpid(pid, os.WNOHANG) == (0, 0), env)
        expected_services(marked_processes(mark))
        os.write(terminal, b"\x03")  # Ctrl-C: the terminal sends SIGINT to its foreground group
        survivors = wait_until_gone(mark, STOP_SECONDS_IN_TERMINAL)
        assert survivors == {}, f"still running {STOP_SECONDS_IN_TERMINAL} s after Ctrl-C: {survivors}"
    finally:
        kill_leftovers(mark)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(terminal)


def _drain(terminal: int) -> None:
    try:
        while os.read(terminal, 65536):
            pass
    except OSError:
        pass
