"""The daily refresh: every category, one run."""

import dagster as dg

from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.defs.forecasts.refresh import refresh_request


@dg.schedule(
    name="daily_forecast_schedule",
    cron_schedule="0 5 * * *",
    target=dg.AssetSelection.keys("forecast_data", "forecast_metrics"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refreshes the forecasts of every category at 05:00 UTC, as one run over all partitions.",
)
def daily_forecast_schedule(context: dg.ScheduleEvaluationContext):
    categories = context.instance.get_dynamic_partitions(category_partitions.name)
    if not categories:
        return dg.SkipReason("no categories yet")
    return refresh_request(categories, context.repository_def.asset_graph, {"tsplatform/trigger": "schedule"})
