"""The PostgreSQL server restarted while a batch's transaction is open.

The shared test server is used by other tests at the same time, so this test starts a private
PostgreSQL server of its own (the same binaries, a throwaway data folder and port) and restarts that
one with ``pg_ctl restart -m fast``: every client connection is cut, exactly as in a real restart.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tsplatform_tests.reliability.test_faults import big_upload, environment, run_cli, snapshot
from tsplatform_tests.test_dagster_dev import free_port

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivateServer:
    """A PostgreSQL server in a temporary folder, run as the ``postgres`` user when we are root."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="tsp-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")

    def _as_owner(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                                      str(self.folder / "server.log"), "-o", options, "-w", *args),
                       check=True, capture_output=True, timeout=120)

    def start(self) -> "PrivateServer":
        subprocess.run(self._as_owner(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                      "--auth=trust", "--no-sync"), check=True, capture_output=True, timeout=120)
        self.pg_ctl("start")
        return self

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    bindir = postgres_bin()
    if bindir is None:
        message = "PostgreSQL server binaries (pg_ctl, initdb) are not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PrivateServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_a_server_restart_mid_batch_is_retried_by_policy_and_the_batch_lands_exactly_once(tmp_path, private_postgres):
    env = environment(tmp_path, private_postgres.url)
    run_cli(env, "db", "init")
    run_cli(env, "upload", str(big_upload(tmp_path / "sales.csv")))
    victim = subprocess.Popen([TSPLATFORM, "ingest", "--format", "json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    for line in victim.stdout:  # the batch is prepared; its one transaction is open now
        if "in one transaction" in line:
            break
    time.sleep(0.2)
    restarted_at = time.monotonic()
    private_postgres.pg_ctl("restart", "-m", "fast")
    print(f"server restarted in {time.monotonic() - restarted_at:.1f} s")
    output, _ = victim.communicate(timeout=600)
    assert victim.returncode == 0, output[-3000:]
    assert "STEP_UP_FOR_RETRY" in output or "up for retry" in output.lower(), output[-3000:]

    invoices, uploads = snapshot(private_postgres.url)
    [upload] = uploads.to_dict("records")
    assert upload["status"] == "completed"
    assert not invoices.duplicated(["date", "product_id", "category"]).any()
    assert set(invoices["version"]) == {1}
    unique_rows = upload["num_total_rows"] - upload["num_rejected_rows"] - upload["num_duplicate_key_rows"]
    assert len(invoices) == upload["num_inserted_rows"] == unique_rows

    # the same upload in a fresh DuckDB warehouse, uninterrupted, ends with the same table
    clean = tmp_path / "clean"
    clean_env = environment(clean, f"duckdb:///{clean / 'data' / 'warehouse.duckdb'}")
    run_cli(clean_env, "upload", str(tmp_path / "sales.csv"))
    run_cli(clean_env, "ingest")
    expected, _ = snapshot(clean_env["TSPLATFORM_WAREHOUSE_URL"])
    compare = ["date", "product_id", "category", "sales", "is_imputed", "version"]
    normalised = [frame[compare].assign(date=pd.to_datetime(frame["date"])) for frame in (invoices, expected)]
    pd.testing.assert_frame_equal(*normalised, check_dtype=False)
