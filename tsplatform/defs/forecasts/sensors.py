"""Forecasts follow the data: when daily_category_sales changes, refresh the changed categories in one run."""

import dagster as dg

from tsplatform.defs.forecasts.assets import DAILY_CATEGORY_SALES
from tsplatform.defs.forecasts.jobs import category_forecast_job
from tsplatform.defs.forecasts.partitions import CATEGORY_PARTITIONS
from tsplatform.defs.forecasts.refresh import refresh_requests
from tsplatform.scale_out import categories_per_run

FORECAST_REFRESH_SENSOR = "forecast_refresh_sensor"


@dg.sensor(
    name=FORECAST_REFRESH_SENSOR,
    job=category_forecast_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After daily_category_sales is materialised, requests ONE run of category_forecast_job over the "
    "range from the first to the last changed category in partition order (read from its changed_categories "
    "metadata); categories inside that span that did not change are re-forecast too. With "
    "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN (or TSPLATFORM_EXECUTOR=celery): one run per group of that many changed categories.",
)
def forecast_refresh_sensor(context: dg.SensorEvaluationContext):
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=DAILY_CATEGORY_SALES, after_storage_id=after), limit=1000, ascending=True
    ).records
    if not records:
        return dg.SkipReason("daily_category_sales has not changed")
    changed: set[str] = set()
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get("changed_categories") if materialization is not None else None
        changed.update(str(category) for category in (value.value if value is not None else []))  # type: ignore[union-attr]
    last = records[-1].storage_id
    if not changed:
        return dg.SensorResult(skip_reason="no category's daily series changed", cursor=str(last))
    # daily_category_sales adds new categories as partitions before its materialization is recorded
    partition_order = context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS)
    unknown = changed - set(partition_order)
    if unknown:
        context.log.warning(f"not category partitions, not forecast: {', '.join(sorted(unknown))}")
        changed -= unknown
    if not changed:
        return dg.SensorResult(skip_reason="no changed category is a partition", cursor=str(last))
    requests = refresh_requests(changed, partition_order, run_key=f"{FORECAST_REFRESH_SENSOR}:{last}", trigger="data",
                                per_run=categories_per_run())
    runs = f" in {len(requests)} runs" if len(requests) > 1 else ""
    context.log.info(f"refreshing forecasts for {len(changed)} changed categories{runs}: {', '.join(sorted(changed))}")
    return dg.SensorResult(run_requests=requests, cursor=str(last))
