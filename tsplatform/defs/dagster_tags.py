"""Names of the run tags Dagster itself writes and reads, as our own constants.

Dagster keeps these names in a private module (``dagster._core.storage.tags``); they are part of its
documented behaviour (run keys, partitions, re-execution groups, run retries) and shown in the UI,
so they are stable. Written out here once so no module imports Dagster's private API for them.
"""

RUN_KEY_TAG = "dagster/run_key"  # the run key of a sensor's or schedule's RunRequest
SENSOR_NAME_TAG = "dagster/sensor_name"  # the sensor that requested the run
PARTITION_NAME_TAG = "dagster/partition"  # the partition a run materialises
ROOT_RUN_ID_TAG = "dagster/root_run_id"  # the first run of a re-execution group
MAX_RETRIES_TAG = "dagster/max_retries"  # run retries for this run; overrides run_retries.max_retries
# One run over a range of partitions (the forecast refresh: first..last category in partition order)
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
