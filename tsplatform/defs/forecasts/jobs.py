"""Jobs of the forecast path."""

import dagster as dg

from tsplatform.defs.forecasts.assets import FORECAST_DATA, FORECAST_METRICS
from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.defs.forecasts.refresh import CATEGORY_FORECAST_JOB
from tsplatform.scale_out import forecast_executor

# the executor is chosen by the environment (tsplatform/scale_out.py): None = the code location's
# default (multiprocess with a heartbeat); TSPLATFORM_EXECUTOR=celery: dagster_celery's executor
category_forecast_job = dg.define_asset_job(
    CATEGORY_FORECAST_JOB,
    selection=dg.AssetSelection.assets(FORECAST_DATA, FORECAST_METRICS),
    partitions_def=category_partitions,
    executor_def=forecast_executor(),
    description="Forecast, backtest and chart categories. By default every refresh is one run over a range of "
    "category partitions (one process pool over all cores); with TSPLATFORM_FORECAST_CATEGORIES_PER_RUN or "
    "TSPLATFORM_EXECUTOR=celery, runs of at most that many categories, each step executed by a Celery worker.",
)
