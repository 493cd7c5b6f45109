"""Forecasts follow the data: when daily_category_sales changes, refresh only the changed categories."""

import dagster as dg

from tsplatform.defs.forecasts.assets import DAILY_CATEGORY_SALES, FORECAST_DATA, FORECAST_METRICS
from tsplatform.defs.forecasts.refresh import refresh_request

FORECAST_REFRESH_SENSOR = "forecast_refresh_sensor"


@dg.sensor(
    name=FORECAST_REFRESH_SENSOR,
    minimum_interval_seconds=30,
    asset_selection=[FORECAST_DATA, FORECAST_METRICS],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After daily_category_sales is materialised, requests one run forecasting the categories whose "
    "series changed (read from its changed_categories metadata); unchanged categories are not re-run.",
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
        value = record.asset_materialization.metadata.get("changed_categories")
        changed.update(value.value if value is not None else [])
    context.update_cursor(str(records[-1].storage_id))
    if not changed:
        return dg.SkipReason("no category's daily series changed")
    context.log.info(f"refreshing forecasts for {len(changed)} categories: {', '.join(sorted(changed))}")
    return dg.SensorResult(
        run_requests=[refresh_request(sorted(changed), context.repository_def.asset_graph, {"tsplatform/trigger": "data"})]
    )
