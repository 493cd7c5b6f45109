import os
import signal
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from tsplatform.cli.stream import stream
from tsplatform.stream import Cursor, JsonlSegmentSource
from tsplatform_tests.processes import wait_for

from .helpers import assert_every_line_parses

SECONDS, POLL = 30.0, 0.1  # how long to wait for the generator's output, how often to look
# Until the main CLI registers the group, a real process runs it through python -c.
COMMAND = [sys.executable, "-c", "from tsplatform.cli.stream import stream; stream(prog_name='tsplatform stream')"]


def start(args, env_folder):
    env = {**os.environ, "TSPLATFORM_DATA_DIR": str(env_folder)}
    return subprocess.Popen(COMMAND + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_generator_on_a_simulated_clock_writes_parseable_readings(stream_folder):
    result = CliRunner().invoke(stream, ["--sensors", "2", "--rate", "1000", "--count", "20",
                                         "--simulated-step", "30min", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Wrote 40 readings" in result.output
    assert assert_every_line_parses(stream_folder) == 40
    records = JsonlSegmentSource(stream_folder).read_since(Cursor())[0]
    for _, group in records.groupby("sensor_id"):
        assert (group.ts.diff().dropna() == pd.Timedelta("30min")).all()


def test_duration_stops_the_generator_after_the_ticks_it_covers(stream_folder):
    result = CliRunner().invoke(stream, ["--rate", "50", "--duration", "0.2s", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert assert_every_line_parses(stream_folder) == 10 * 3  # ticks due in [0, 0.2 s) at 50/s


def test_backfill_writes_history_ending_now(stream_folder):
    result = CliRunner().invoke(stream, ["backfill", "--days", "1", "--interval", "10min", "--seed", "2"])
    assert result.exit_code == 0, result.output
    records = JsonlSegmentSource(stream_folder).read_since(Cursor())[0]
    assert len(records) == 144 * 3 == assert_every_line_parses(stream_folder)
    assert records.ts.max() <= pd.Timestamp.now(tz="UTC")
    assert records.ts.max() - records.ts.min() == pd.Timedelta("1D") - pd.Timedelta("10min")


def test_status_shows_segments_cursor_and_writer(stream_folder):
    CliRunner().invoke(stream, ["--count", "3", "--rate", "1000"])
    result = CliRunner().invoke(stream, ["status"])
    assert result.exit_code == 0, result.output
    assert "segments: 1" in result.output and '"segment":"segment-00000001.jsonl"' in result.output
    assert "writer: none" in result.output


def test_commands_without_a_running_generator_fail_clearly(stream_folder):
    for args in (["spike", "sensor_1"], ["normal"]):
        result = CliRunner().invoke(stream, args)
        assert result.exit_code == 1 and "no generator is running" in result.output
    assert CliRunner().invoke(stream, ["--simulated-step", "soon"]).exit_code == 2


def test_live_generator_obeys_spike_and_normal_and_stops_cleanly_on_ctrl_c(stream_folder):
    process = start(["--rate", "20", "--spike-probability", "0", "--seed", "1"], stream_folder.parent)
    source = JsonlSegmentSource(stream_folder)
    seen = []
    cursor = Cursor()

    def new_readings():
        nonlocal cursor
        records, cursor = source.read_since(cursor)
        seen.append(records)
        return pd.concat(seen)

    try:
        wait_for(lambda: len(new_readings()) >= 30, SECONDS, "first readings", every=POLL)
        runner = CliRunner()
        busy = runner.invoke(stream, ["--count", "1"])
        assert busy.exit_code == 1 and "another writer" in busy.output
        unknown = runner.invoke(stream, ["spike", "sensor_9"])
        assert unknown.exit_code == 1 and "unknown sensor" in unknown.output

        sent = runner.invoke(stream, ["spike", "sensor_2", "--size", "500"])
        assert sent.exit_code == 0 and "sensor_2" in sent.output
        wait_for(lambda: ((lambda r: (r.sensor_id == "sensor_2") & (r.value > 400))(new_readings())).any(),
                 SECONDS, "the commanded spike", every=POLL)

        assert runner.invoke(stream, ["spike", "sensor_3", "--size", "-300", "--hold"]).exit_code == 0
        wait_for(lambda: ((lambda r: (r.sensor_id == "sensor_3") & (r.value < -100))(new_readings())).sum() >= 3,
                 SECONDS, "the held offset", every=POLL)
        assert runner.invoke(stream, ["normal", "sensor_3"]).exit_code == 0

        def back_to_normal():
            sensor_3 = new_readings().query("sensor_id == 'sensor_3'").reset_index(drop=True)
            held = sensor_3.index[sensor_3.value < -100]
            return len(held) and (sensor_3.value.iloc[held[-1] + 1 :] > 50).sum() >= 3

        wait_for(back_to_normal, SECONDS, "sensor_3 back to normal", every=POLL)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "Stopped by signal" in stdout and "spike +500 on sensor_2" in stdout
    assert "back to normal: sensor_3" in stdout
    readings = new_readings()
    assert (readings.sensor_id == "sensor_2").sum() > 0
    total = assert_every_line_parses(stream_folder)
    everything = JsonlSegmentSource(stream_folder).read_range(Cursor(), source.latest_cursor())
    assert len(everything.records) == total and everything.rejects.empty
    assert (readings.value > 400).sum() == 1  # one spike, exactly once


def test_backfill_interrupted_by_sigterm_leaves_no_torn_record(stream_folder):
    process = start(["backfill", "--days", "365", "--interval", "1min", "--segment-mb", "1"], stream_folder.parent)
    try:
        wait_for(lambda: len(JsonlSegmentSource(stream_folder).segments()) >= 3, SECONDS, "a few segments", every=POLL)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Stopped by signal" in stdout
    total = assert_every_line_parses(stream_folder)
    assert 0 < total < 365 * 1440 * 3
