"""``tsplatform stream``: run the sensor generator, steer it (spike / normal), backfill history.

Registered by the main CLI with ``main.add_command(stream)``; also runnable on its own with
``python -m tsplatform.cli.stream``. Heavy imports happen inside the commands so ``tsplatform
--help`` stays fast.
"""

from __future__ import annotations

import click

DEFAULT_SEGMENT_MB = 16.0
DEFAULT_SEGMENT_MINUTES = 60.0


class TimeSpan(click.ParamType):
    """A duration such as ``30min``, ``1h``, ``2D``; a bare number means seconds."""

    name = "timespan"

    def convert(self, value, param, ctx):
        import pandas as pd

        if isinstance(value, pd.Timedelta):
            return value
        try:
            span = pd.Timedelta(seconds=float(value))
        except (TypeError, ValueError):
            try:
                span = pd.Timedelta(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a duration (try 30s, 30min, 1h, 2D)", param, ctx)
        if span <= pd.Timedelta(0):
            self.fail(f"{value!r} must be positive", param, ctx)
        return span


TIME_SPAN = TimeSpan()


def show_span(span) -> str:
    """``30min``, ``1h30min``, ``2D``, ``0.5s`` rather than pandas' ``0 days 00:30:00``."""
    seconds = span.total_seconds()
    parts = []
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{int(count)}{unit}")
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)


@click.group(invoke_without_command=True)
@click.option("--sensors", type=click.IntRange(min=1), default=3, show_default=True, help="Number of sensors.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Readings per second per sensor.")
@click.option("--simulated-step", type=TIME_SPAN, default=None,
              help="Advance a simulated clock by this much per reading (e.g. 30min) instead of real time.")
@click.option("--spike-probability", type=click.FloatRange(0, 1), default=0.005, show_default=True,
              help="Chance that a reading is a random spike.")
@click.option("--spike-size", type=float, default=25.0, show_default=True, help="Size of spikes.")
@click.option("--duration", type=TIME_SPAN, default=None, help="Stop after this long (e.g. 30s, 10min).")
@click.option("--count", type=click.IntRange(min=0), default=None, help="Stop after this many readings per sensor.")
@click.option("--seed", type=int, default=None, help="Seed for reproducible values.")
@click.option("--segment-mb", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_SEGMENT_MB,
              show_default=True, help="Start a new segment past this size.")
@click.option("--segment-minutes", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_SEGMENT_MINUTES,
              show_default=True, help="Start a new segment after this many minutes.")
@click.pass_context
def stream(ctx, sensors, rate, simulated_step, spike_probability, spike_size, duration, count, seed,
           segment_mb, segment_minutes) -> None:
    """Generate live sensor readings into the stream folder (Ctrl-C stops cleanly).

    The subcommands steer a running generator (spike, normal), write history (backfill) or show
    the folder (status).
    """
    if ctx.invoked_subcommand is not None:
        return
    import pandas as pd
    from tqdm import tqdm

    from tsplatform.settings import data_paths
    from tsplatform.stream.address import describe
    from tsplatform.stream.control import CommandInbox
    from tsplatform.stream.generator import ReadingGenerator
    from tsplatform.stream.generator_loops import run_live

    folder = data_paths().stream
    generator = ReadingGenerator(sensors, spike_probability=spike_probability, spike_size=spike_size, seed=seed)
    start = pd.Timestamp.now(tz="UTC").floor(simulated_step) if simulated_step is not None else None
    clock = f"simulated, {show_span(simulated_step)} per reading" if simulated_step is not None else "real time"
    click.echo(f"Writing {sensors} sensor(s) at {rate:g}/s each ({clock}) to {describe(folder)}. Ctrl-C stops.")
    inbox = CommandInbox(folder)

    def report(command, error) -> None:
        if error is not None:
            tqdm.write(f"ignored {command.action} for {command.sensor_id}: {error}")
        elif command.action == "spike":
            size = command.size if command.size is not None else spike_size
            held = " (held until normal)" if command.hold else ""
            tqdm.write(f"spike {size:+g} on {command.sensor_id}{held}")
        else:
            tqdm.write(f"back to normal: {command.sensor_id or 'all sensors'}")

    owner = {"role": "generator", "sensors": generator.sensor_ids}
    total = count * sensors if count is not None else None
    with _writer(folder, segment_mb, segment_minutes, owner) as (writer, stop):
        inbox.clear()
        with tqdm(total=total, unit=" readings", desc="stream", mininterval=0.5) as bar:
            summary = run_live(
                generator, writer, rate=rate, step=simulated_step, start=start, count=count,
                duration=duration.total_seconds() if duration is not None else None,
                inbox=inbox, stop=stop, on_progress=bar.update, on_command=report,
            )
    _report(summary, folder, writer)


@stream.command()
@click.argument("sensor")
@click.option("--size", type=float, default=None, help="Spike size (default: the generator's --spike-size).")
@click.option("--hold", is_flag=True, help="Keep the sensor offset until `tsplatform stream normal`.")
def spike(sensor, size, hold) -> None:
    """Tell the running generator to spike SENSOR's next reading."""
    from tsplatform.stream.control import Command, send_command

    folder, holder = _running_generator(sensor)
    send_command(folder, Command("spike", sensor, size, hold))
    what = f"{size:+g}" if size is not None else "of the default size"
    click.echo(f"Spike {what} sent to {sensor}; generator pid {holder.get('pid', '?')} applies it to the next reading"
               + (" and holds it until `tsplatform stream normal`." if hold else "."))


@stream.command()
@click.argument("sensor", required=False)
def normal(sensor) -> None:
    """Return SENSOR (or every sensor) to normal: cancel queued and held spikes."""
    from tsplatform.stream.control import Command, send_command

    folder, holder = _running_generator(sensor)
    send_command(folder, Command("normal", sensor))
    click.echo(f"Back-to-normal sent for {sensor or 'all sensors'} (generator pid {holder.get('pid', '?')}).")


@stream.command()
@click.option("--days", type=click.FloatRange(min=0, min_open=True), required=True, help="Days of history.")
@click.option("--interval", type=TIME_SPAN, default="1min", show_default=True,
              help="Time between readings of a sensor.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Readings per second per sensor (instead of --interval).")
@click.option("--sensors", type=click.IntRange(min=1), default=3, show_default=True, help="Number of sensors.")
@click.option("--spike-probability", type=click.FloatRange(0, 1), default=0.005, show_default=True,
              help="Chance that a reading is a random spike.")
@click.option("--spike-size", type=float, default=25.0, show_default=True, help="Size of spikes.")
@click.option("--seed", type=int, default=None, help="Seed for reproducible values.")
@click.option("--segment-mb", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_SEGMENT_MB, show_default=True,
              help="Start a new segment past this size.")
def backfill(days, interval, rate, sensors, spike_probability, spike_size, seed, segment_mb) -> None:
    """Write DAYS of history ending now, at once."""
    import pandas as pd
    from tqdm import tqdm

    from tsplatform.settings import data_paths
    from tsplatform.stream.generator import ReadingGenerator
    from tsplatform.stream.generator_loops import backfill_times, run_backfill

    if rate is not None:
        interval = pd.Timedelta(seconds=1.0 / rate)
    folder = data_paths().stream
    end = pd.Timestamp.now(tz="UTC").floor(interval) if interval <= pd.Timedelta("1D") else pd.Timestamp.now(tz="UTC")
    start = end - pd.Timedelta(days=days)
    ticks = len(backfill_times(start, end, interval))
    from tsplatform.stream.address import describe

    click.echo(f"Backfilling {days:g} day(s) of {sensors} sensor(s), one reading per {show_span(interval)}, "
               f"into {describe(folder)}.")
    generator = ReadingGenerator(sensors, spike_probability=spike_probability, spike_size=spike_size, seed=seed)
    with _writer(folder, segment_mb, None, {"role": "backfill"}) as (writer, stop):
        with tqdm(total=ticks * sensors, unit=" readings", desc="backfill", mininterval=0.5) as bar:
            summary = run_backfill(generator, writer, start=start, end=end, interval=interval, stop=stop,
                                   on_progress=bar.update)
    _report(summary, folder, writer)


@stream.command()
@click.argument("url")
@click.option("--client-id", default="tsplatform-bridge", show_default=True,
              help="MQTT client id: the persistent session that queues readings while the bridge is down.")
def bridge(url, client_id) -> None:
    """Forward device readings from mqtt://host:port/TOPIC (QoS 1) to the configured stream.

    Each message is acknowledged to the MQTT broker only after the stream (the folder, or the NATS
    stream of TSPLATFORM_STREAM_URL) holds it; malformed ones are forwarded too and rejected with a
    reason by the ingest run, as lines of a file are.
    """
    from tsplatform.settings import data_paths
    from tsplatform.stream.address import describe
    from tsplatform.stream.bridge import Bridge, mqtt_address

    try:
        address = mqtt_address(url)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="URL") from None
    folder = data_paths().stream
    with _writer(folder, DEFAULT_SEGMENT_MB, DEFAULT_SEGMENT_MINUTES, {"role": "bridge"}) as (writer, stop):
        forwarder = Bridge(address, writer, client_id=client_id,
                           on_ready=lambda: click.echo(f"Subscribed to {address.topic} (QoS 1)."))
        click.echo(f"Bridging {address.topic} on {address.host}:{address.port} (client id {client_id}, QoS 1) "
                   f"to {describe(folder)}. Ctrl-C stops.")
        try:
            forwarder.run(stop)
        except (OSError, ConnectionError) as error:
            raise click.ClickException(f"bridge stopped: {error}") from None
    click.echo(f"Forwarded {forwarder.forwarded} message(s).")


@stream.command()
def status() -> None:
    """Show the stream folder (or the NATS stream): segments, latest cursor, and who is writing."""
    from tsplatform.settings import data_paths
    from tsplatform.stream.address import nats_stream, open_source
    from tsplatform.stream.lock import active_writer
    from tsplatform.stream.source import JsonlSegmentSource

    folder = data_paths().stream
    broker = nats_stream()
    if broker is not None:
        holder = active_writer(folder)
        click.echo(f"stream: {broker.name} on {broker.server} (subjects {broker.subject_prefix}.>)")
        click.echo(f"latest cursor: {_broker_call(open_source(folder).latest_cursor).to_string()}")
        click.echo("writer here: " + (f"{holder.get('role', '?')} (pid {holder.get('pid', '?')})" if holder is not None else "none"))
        return
    source = JsonlSegmentSource(folder)
    segments = source.segments()
    size = sum((folder / name).stat().st_size for name in segments)
    holder = active_writer(folder)
    click.echo(f"folder: {folder}")
    click.echo(f"segments: {len(segments)} ({size / 1e6:.1f} MB)" + (f", {segments[0]} … {segments[-1]}" if segments else ""))
    click.echo(f"latest cursor: {source.latest_cursor().to_string()}")
    click.echo("writer: " + (f"{holder.get('role', '?')} (pid {holder.get('pid', '?')})" if holder is not None else "none"))


class RetentionAge(click.ParamType):
    """A retention age: a duration (7D, 36h) or 0/off."""

    name = "age"

    def convert(self, value, param, ctx):
        from tsplatform.stream.retention import parse_retention

        try:
            return parse_retention(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


@stream.command()
@click.option("--older-than", type=RetentionAge(), default=None,
              help="Age of the newest reading past which a segment goes [default: TSPLATFORM_STREAM_RETENTION or 7D].")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def prune(older_than, dry_run) -> None:
    """Remove sealed, fully stored segments older than the retention age (the folder only, not JetStream)."""
    from tsplatform.settings import data_paths, warehouse_url
    from tsplatform.stream import retention
    from tsplatform.warehouse import open_warehouse

    ctx = click.get_current_context()
    from_option = ctx.get_parameter_source("older_than") == click.core.ParameterSource.COMMANDLINE
    try:
        max_age = older_than if from_option else retention.retention_from_environment()
    except ValueError as error:
        raise click.ClickException(f"{retention.RETENTION_VARIABLE}: {error}") from None
    if max_age is None:
        click.echo("Retention is off: every segment is kept.")
        return
    outcome = retention.prune(open_warehouse(warehouse_url()), data_paths().stream, max_age, dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    for segment in outcome.segments:
        click.echo(f"{verb} {segment.name} ({segment.size} bytes, newest {segment.age_from} {segment.newest:%Y-%m-%d %H:%M:%S} UTC)")
    click.echo(f"{verb} {len(outcome.segments)} segment(s), {outcome.bytes / 1e6:.1f} MB, older than "
               f"{show_span(max_age)}; {outcome.kept} segment(s) kept.")


class _writer:
    """A SegmentWriter (or, with ``TSPLATFORM_STREAM_URL=nats://…``, a JetStreamWriter) and a
    StopSignal together; a busy folder, an unreachable broker and a reading the broker did not
    acknowledge become clean CLI errors. The folder's writer lock is held in both cases, so
    ``spike``/``normal`` find the generator."""

    def __init__(self, folder, segment_mb, segment_minutes, owner) -> None:
        self.args = (folder, segment_mb, segment_minutes, owner)

    def __enter__(self):
        from tsplatform.stream.address import nats_stream
        from tsplatform.stream.interrupt import StopSignal
        from tsplatform.stream.jetstream import JetStreamWriter
        from tsplatform.stream.lock import WriterBusyError, WriterLock
        from tsplatform.stream.segments import SegmentWriter

        folder, segment_mb, segment_minutes, owner = self.args
        broker = nats_stream()
        self.lock = None
        self.stop = StopSignal().__enter__()
        try:
            if broker is None:
                self.writer = SegmentWriter(
                    folder, max_bytes=int(segment_mb * 1024 * 1024),
                    max_age=segment_minutes * 60 if segment_minutes else None, owner=owner,
                )
                self.writer.open()
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self.lock = WriterLock(folder, {**owner, "stream": broker.name})
                self.lock.acquire()
                self.writer = JetStreamWriter(broker)
                _broker_call(self.writer.open)
        except (WriterBusyError, click.ClickException) as error:
            if self.lock is not None:
                self.lock.release()
            self.stop.__exit__(None, None, None)
            raise click.ClickException(str(error)) from None
        return self.writer, self.stop

    def __exit__(self, exc_type, exc, traceback):
        from tsplatform.stream.jetstream import PublishError

        try:
            self.writer.close()
        finally:
            if self.lock is not None:
                self.lock.release()
            self.stop.__exit__(exc_type, exc, traceback)
        if isinstance(exc, PublishError):
            raise click.ClickException(f"{exc} ({self.writer.records_written} readings were acknowledged before)") from None


def _broker_call(action):
    """``action()``, with an unreachable NATS server as a CLI error instead of a traceback."""
    from nats.errors import NoServersError

    try:
        return action()
    except (NoServersError, OSError, TimeoutError) as error:
        from tsplatform.stream.address import stream_url

        raise click.ClickException(f"cannot reach the NATS server of {stream_url()}: {error!r}") from None


def _running_generator(sensor: str | None):
    from tsplatform.settings import data_paths
    from tsplatform.stream.lock import active_writer

    folder = data_paths().stream
    holder = active_writer(folder)
    if holder is None or holder.get("role") != "generator":
        raise click.ClickException(f"no generator is running on {folder}; start one with `tsplatform stream`.")
    known = holder.get("sensors") or []
    if sensor is not None and known and sensor not in known:
        raise click.ClickException(f"unknown sensor {sensor!r}; the running generator has {', '.join(known)}.")
    return folder, holder


def _report(summary, folder, writer=None) -> None:
    how = "Stopped by signal after" if summary.interrupted else "Wrote"
    span = f" from {summary.first_ts} to {summary.last_ts}" if summary.first_ts is not None else ""
    counts = getattr(writer, "counts", None)
    if counts is not None:  # a broker: say what it acknowledged
        click.echo(f"{how} {summary.records} readings{span} to stream {writer.stream.name} on {writer.stream.server}: "
                   f"{counts.published} acknowledged as stored, {counts.deduplicated} as re-sends, "
                   f"{counts.retried} publish attempt(s) retried.")
        return
    click.echo(f"{how} {summary.records} readings{span} in {len(summary.segments)} segment(s) under {folder}.")


if __name__ == "__main__":
    stream(prog_name="tsplatform stream")
