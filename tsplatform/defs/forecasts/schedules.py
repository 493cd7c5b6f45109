"""The daily refresh: every category, one run of category_forecast_job."""

import dagster as dg

from tsplatform.defs.automation import refresh_schedule_attributes
from tsplatform.defs.forecasts.jobs import category_forecast_job
from tsplatform.defs.forecasts.partitions import CATEGORY_PARTITIONS
from tsplatform.defs.forecasts.refresh import refresh_requests
from tsplatform.scale_out import categories_per_run

FORECAST_SCHEDULE_NAME = "daily_forecast_schedule"
REFRESH_CRON_VARIABLE = "TSPLATFORM_FORECAST_REFRESH_CRON"
DEFAULT_REFRESH_CRON = "0 5 * * *"


@dg.schedule(
    name=FORECAST_SCHEDULE_NAME,
    job=category_forecast_job,
    **refresh_schedule_attributes(
        REFRESH_CRON_VARIABLE, DEFAULT_REFRESH_CRON,
        "Refreshes the forecasts of every category ({when}) as one run over all category partitions (runs of "
        "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN categories when set, or in celery mode).",
    ),
)
def daily_forecast_schedule(context: dg.ScheduleEvaluationContext):
    categories = context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS)
    if not categories:
        return dg.SkipReason("no categories yet: upload sales first")
    tick = context.scheduled_execution_time
    run_key = f"{FORECAST_SCHEDULE_NAME}:{tick.isoformat() if tick else 'manual'}"
    return refresh_requests(categories, categories, run_key=run_key, trigger="schedule", per_run=categories_per_run())
