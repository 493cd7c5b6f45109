"""Jobs of the forecast path."""

import dagster as dg

from tsplatform.defs.forecasts.assets import FORECAST_DATA, FORECAST_METRICS
from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.defs.forecasts.refresh import CATEGORY_FORECAST_JOB

category_forecast_job = dg.define_asset_job(
    CATEGORY_FORECAST_JOB,
    selection=dg.AssetSelection.assets(FORECAST_DATA, FORECAST_METRICS),
    partitions_def=category_partitions,
    description="Forecast, backtest and chart categories. Every refresh is one run over a range of "
    "category partitions (one process pool over all cores).",
)
