"""``sensor_stream_sensor``: new stream readings become runs, each for exactly one cursor range.

Each tick (every ``TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS``, default 30 s):

1. Follow up the ranges asked for earlier (``pending`` in the cursor, see ``planning``): a range
   whose ingest step succeeded in its run — or in a re-execution of it — is done; one whose run is
   queued or running is waited for (unless its worker process is gone, see ``run_workers``: then
   it is failed); one whose run never appeared (the daemon died between the tick and the launch)
   is asked for again under the same run key (Dagster launches a key only once);
   one whose run failed is asked for again under ``<key>#retry<n>`` unless the warehouse ledger
   (``sensor_stream_ranges``, written in the same transaction as the readings) shows it stored.
   This is the only layer that re-runs a range: Dagster's run retries are off for the stream job.
2. Ask for the new readings: ``[next, latest flushed line)`` as one range (split at segment starts
   past 256 MiB), unless 4 ranges are still unconfirmed (then the backlog waits, in the stream,
   and is asked for as one range later).

The stream is the one ``TSPLATFORM_STREAM_URL`` names (``tsplatform.stream.address``): the JSON
Lines folder by default, or a NATS JetStream stream, whose cursor is the message sequence (ranges
of at most 200,000 messages). A sensor cursor of another stream than the configured one fails the
tick with a clear message: reset the cursor after changing the variable.

The tick reads two directory listings (or one stream info) and the Dagster run storage; it opens
the warehouse only when a run has failed. Exactly-once: every range is asked for until a run stored it
(at-least-once), and storing is idempotent on (sensor_id, ts) with the line's position telling a
re-delivery from a genuine duplicate — so nothing is lost and nothing is stored twice.
"""


import dagster as dg

from tsplatform import settings
from tsplatform.defs.dagster_tags import ROOT_RUN_ID_TAG, RUN_KEY_TAG
from tsplatform.defs.resources import DataFolderResource, WarehouseResource
from tsplatform.defs.run_workers import fail_if_worker_gone
from tsplatform.defs.stream.assets import INGEST_STEP
from tsplatform.defs.stream.jobs import sensor_stream_ingest_job
from tsplatform.stream import JsonlSegmentSource, ReadingSource
from tsplatform.stream.address import STREAM_URL_VARIABLE, open_source
from tsplatform.stream.range_planning import (
    MAX_ATTEMPTS,
    MAX_PENDING_RANGES,
    PendingRange,
    SensorState,
    plan_ranges,
    plan_sequence_ranges,
)
from tsplatform.stream.segments import segment_sizes
from tsplatform.warehouse import stream_tables

STREAM_SENSOR_NAME = "sensor_stream_sensor"
DEFAULT_INTERVAL_SECONDS = 30
INTERVAL_VARIABLE = "TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS"
STREAM_RANGE_TAG = "tsplatform/stream_range"
STREAM_ATTEMPT_TAG = "tsplatform/stream_attempt"

STORED, RUNNING, NOT_LAUNCHED, FAILED = "stored", "running", "not launched", "failed"


def interval_from_environment() -> int:
    """``TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS`` (whole seconds >= 1), read when the code loads."""
    return int(settings.number_setting(INTERVAL_VARIABLE, DEFAULT_INTERVAL_SECONDS, "seconds", minimum=1))


STREAM_SENSOR_INTERVAL_SECONDS = interval_from_environment()


def range_request(entry: PendingRange) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=entry.run_key,
        run_config={"ops": {INGEST_STEP: {"config": {"start": entry.start, "end": entry.end}}}},
        tags={STREAM_RANGE_TAG: entry.base_key, STREAM_ATTEMPT_TAG: str(entry.attempt)},
    )


def range_status(instance: dg.DagsterInstance, entry: PendingRange) -> str:
    """What became of the run asked for ``entry`` (and of any re-execution of it)."""
    runs = list(instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: entry.run_key})))
    if not runs:
        return NOT_LAUNCHED
    if [run for run in runs if fail_if_worker_gone(instance, run, "the process running this stream range was killed")]:
        runs = list(instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: entry.run_key})))
    family = list(runs)
    for run in runs:
        if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            family += instance.get_runs(filters=dg.RunsFilter(tags={ROOT_RUN_ID_TAG: run.root_run_id or run.run_id}))
    if any(run.is_finished and _ingest_step_succeeded(instance, run.run_id) for run in family):
        return STORED
    if any(not run.is_finished for run in family):
        return RUNNING
    return FAILED  # Dagster's run retries are off for this job: asking again is this sensor's job


def _ingest_step_succeeded(instance: dg.DagsterInstance, run_id: str) -> bool:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    return any(record.event_log_entry.step_key == INGEST_STEP for record in records)


def stored_per_ledger(warehouse: WarehouseResource, entries: list[PendingRange], log) -> set[PendingRange]:
    """The ranges the warehouse ledger covers (stored by a run whose later steps failed, or by a
    manual materialisation). One short transaction; on any error none (a retry is harmless)."""
    if not entries:
        return set()
    try:
        with warehouse.open().transaction() as session:
            return {entry for entry in entries if stream_tables.range_is_stored(session, entry.stream_range())}
    except Exception as problem:  # the warehouse busy or down: retrying the range is always safe
        log.warning(f"could not consult the stored-range ledger ({problem}); asking for the failed ranges again")
        return set()


def sensor_state(source: ReadingSource, text: str | None) -> SensorState:
    """The stored cursor, checked to belong to the configured stream."""
    state = SensorState.from_string(text, source.earliest_cursor())
    try:
        for cursor in [state.next.to_string(), *(c for e in state.pending for c in (e.start, e.end))]:
            source.parse_cursor(cursor)
    except ValueError as problem:
        raise ValueError(
            f"the sensor cursor is not a position of the configured stream ({STREAM_URL_VARIABLE} changed?): {problem}. "
            "Reset the sensor's cursor to read the configured stream from its beginning (storage is idempotent)."
        ) from None
    return state


def evaluate_stream(
    context: dg.SensorEvaluationContext, source: ReadingSource, split, warehouse: WarehouseResource
) -> dg.SensorResult:
    """One tick; ``split(position, latest, max_ranges)`` cuts the new readings into ranges."""
    state = sensor_state(source, context.cursor)
    requests: list[dg.RunRequest] = []
    kept: list[PendingRange] = []
    failed: list[PendingRange] = []
    for entry in state.pending:
        status = range_status(context.instance, entry)
        if status == STORED:
            context.log.info(f"range {entry.base_key} is stored")
        elif status == RUNNING:
            kept.append(entry)
        elif status == NOT_LAUNCHED:
            kept.append(entry)
            requests.append(range_request(entry))
        else:
            failed.append(entry)

    stored = stored_per_ledger(warehouse, [entry for entry in failed if not entry.gave_up], context.log)
    for entry in failed:
        if entry in stored:
            context.log.info(f"range {entry.base_key}: its run failed after storing it (ledger); done")
        elif entry.gave_up:
            kept.append(entry)
        elif entry.attempt + 1 >= MAX_ATTEMPTS:
            kept.append(PendingRange(entry.start, entry.end, entry.attempt, gave_up=True))
            context.log.error(
                f"range {entry.base_key} failed {MAX_ATTEMPTS} times; not retrying by itself. Fix the cause and "
                f"re-execute its last run ({entry.run_key}); the sensor then sees it stored."
            )
        else:
            retry = entry.retried()
            kept.append(retry)
            requests.append(range_request(retry))
            context.log.warning(f"range {entry.base_key} is not stored (its run failed): asking again as {retry.run_key}")

    position = state.next
    latest = source.latest_cursor()
    active = sum(not entry.gave_up for entry in kept)
    if latest < position:
        context.log.warning(
            f"the stream ends at {latest}, before the sensor cursor {position}: was it replaced? "
            "Reset the sensor cursor to read it from the beginning (storage is idempotent)."
        )
    elif position < latest:
        room = MAX_PENDING_RANGES - active
        if room <= 0:
            context.log.info(f"{active} ranges still unconfirmed; new readings wait for the next tick")
        for start, end in split(position, latest, max(room, 0)):
            entry = PendingRange(start.to_string(), end.to_string())
            kept.append(entry)
            requests.append(range_request(entry))
            position = end

    cursor = SensorState(position, kept).to_string()
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    waiting = f"; {len(kept)} range(s) awaiting storage" if kept else ""
    return dg.SensorResult(skip_reason=f"no new readings after {position}{waiting}", cursor=cursor)


@dg.sensor(
    name=STREAM_SENSOR_NAME,
    job=sensor_stream_ingest_job,
    minimum_interval_seconds=STREAM_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Asks for one run per new cursor range of the sensor stream (data/stream, or the NATS stream of "
    "TSPLATFORM_STREAM_URL); re-asks for ranges "
    "whose run failed until they are stored. Cursor: next stream position + ranges awaiting storage.",
)
def sensor_stream_sensor(
    context: dg.SensorEvaluationContext, data_folder: DataFolderResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    folder = data_folder.paths().stream
    source = open_source(folder)
    if not isinstance(source, JsonlSegmentSource):
        return evaluate_stream(context, source, lambda a, b, room: plan_sequence_ranges(a, b, max_ranges=room), warehouse)

    def split(position, latest, room):
        return plan_ranges(position, latest, segment_sizes(folder), max_ranges=room)

    return evaluate_stream(context, source, split, warehouse)
