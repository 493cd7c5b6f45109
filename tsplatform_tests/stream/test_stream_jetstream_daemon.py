"""The real daemon on a NATS JetStream stream: ``dagster-daemon run`` (its whole process group) is
killed with SIGKILL while a stream run is in flight and started again, while ``tsplatform stream``
keeps publishing; every reading the broker acknowledged ends in ``sensor_readings`` exactly once."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tsplatform.warehouse import open_warehouse, stream_tables
from tsplatform_tests.reliability.test_daemon_faults import (
    PROJECT,
    daemon_environment,
    kill_group,
    start_daemon,
    stream_run_in_flight,
    table_counts,
    wait_until,
)

from .nats_helpers import checksum, stream_contents

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")


@pytest.mark.slow
def test_the_daemon_killed_mid_run_and_restarted_stores_every_acknowledged_reading_once(tmp_path, shared_nats_stream_url):
    home, paths, url, env = daemon_environment(
        tmp_path, TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS="5", TSPLATFORM_STREAM_URL=shared_nats_stream_url
    )
    daemon_log, generator_log = tmp_path / "daemon.log", tmp_path / "generator.log"
    generator = subprocess.Popen([TSPLATFORM, "stream", "--sensors", "3", "--rate", "10"], cwd=PROJECT, env=env,
                                 stdout=generator_log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    daemon = start_daemon(env, daemon_log)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        wait_until(lambda: (c := table_counts(url)) and c[0], 300, "readings stored from the broker")
        in_flight = wait_until(lambda: stream_run_in_flight(instance), 120, "a stream run in flight", every=0.1)
        kill_group(daemon)
        killed_at = time.monotonic()
        time.sleep(5)  # readings keep arriving on the broker while no daemon runs
        daemon = start_daemon(env, daemon_log)
        time.sleep(20)
        kill_group(generator, signal.SIGINT)
        output = generator_log.read_text()
        assert generator.returncode == 0, output[-2000:]
        acknowledged = int(re.search(r"(\d+) acknowledged as stored", output).group(1))
        contents = stream_contents(shared_nats_stream_url)
        assert len(contents) == acknowledged
        wait_until(lambda: (c := table_counts(url)) and c[0] >= acknowledged, 300,
                   f"all {acknowledged} acknowledged readings stored")
        time.sleep(12)  # two more sensor intervals: anything stored twice or late would show now
    finally:
        kill_group(daemon, signal.SIGINT)
        kill_group(generator, signal.SIGINT)

    with open_warehouse(url).transaction() as session:
        stored = stream_tables.read_readings(session)
        rejected = stream_tables.read_rejected_readings(session)
    print(f"acknowledged {acknowledged:,}, stored {len(stored):,}; killed run {in_flight[:8]} "
          f"{instance.get_run_by_id(in_flight).status.value}; {time.monotonic() - killed_at:.0f} s since the kill")
    assert rejected.empty, rejected.head().to_dict("records")
    assert len(stored) == acknowledged and not stored.duplicated(["sensor_id", "ts"]).any()
    assert checksum(stored) == checksum(contents)
