"""``stream_retention``: old, fully stored JSON Lines segments are removed (the refresh job runs it).

The rule is in ``tsplatform.stream.retention``; this asset reads the age (run config, else
``TSPLATFORM_STREAM_RETENTION``, default ``7D``; ``0``/``off`` disables), calls it and reports.
Only the folder is pruned: a NATS JetStream stream keeps its own limits.
"""

import dagster as dg
from pydantic import Field

from tsplatform.defs.resources import WAREHOUSE_WRITER_POOL, DataFolderResource, WarehouseResource
from tsplatform.defs.table_metadata import OWNERS
from tsplatform.stream import retention

STREAM_RETENTION = dg.AssetKey("stream_retention")
MAX_LISTED = 20


class RetentionConfig(dg.Config):
    older_than: str = Field(
        default="",
        description="Remove sealed, fully stored segments whose newest reading is older than this (7D, 36h); "
        "empty = TSPLATFORM_STREAM_RETENTION or 7D; 0 or off = keep everything.",
    )
    dry_run: bool = Field(default=False, description="Only list what would be removed.")


@dg.asset(
    key=STREAM_RETENTION,
    description="Removes JSON Lines segments of data/stream that are sealed, fully stored (sensor_stream_ranges) "
    "and older than the retention age; each removal is recorded in retired-segments.jsonl first.",
    group_name="sensor_stream",
    kinds={"python"},
    owners=list(OWNERS),
    tags={"domain": "sensor_stream"},
    pool=WAREHOUSE_WRITER_POOL,  # DuckDB: one process opens the file at a time
)
def stream_retention(
    context: dg.AssetExecutionContext, config: RetentionConfig, warehouse: WarehouseResource, data_folder: DataFolderResource
) -> dg.MaterializeResult:
    try:
        max_age = retention.parse_retention(config.older_than) if config.older_than else retention.retention_from_environment()
    except ValueError as problem:
        raise dg.Failure(description=str(problem), allow_retries=False) from problem
    if max_age is None:
        context.log.info("stream retention is off: every segment is kept")
        return dg.MaterializeResult(metadata={"retention": "off", "num_removed": 0, "bytes_removed": 0})
    folder = data_folder.paths().stream
    outcome = retention.prune(warehouse.open(), folder, max_age, dry_run=config.dry_run)
    verb = "would remove" if outcome.dry_run else "removed"
    for segment in outcome.segments:
        context.log.info(f"{verb} {segment.name} ({segment.size} bytes, newest {segment.age_from} {segment.newest:%Y-%m-%d %H:%M:%S} UTC)")
    context.log.info(f"{verb} {len(outcome.segments)} segment(s), {outcome.bytes} bytes; {outcome.kept} kept")
    listed = [segment.name for segment in outcome.segments[:MAX_LISTED]]
    return dg.MaterializeResult(
        metadata={
            "retention": str(max_age),
            "dry_run": outcome.dry_run,
            "num_removed": len(outcome.segments),
            "bytes_removed": outcome.bytes,
            "num_kept": outcome.kept,
            "removed": dg.MetadataValue.json(listed),
        }
    )
