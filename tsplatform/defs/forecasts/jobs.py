"""Jobs of the forecast path."""

import dagster as dg

from tsplatform.defs.forecasts.assets import FORECAST_DATA, FORECAST_METRICS
from tsplatform.defs.forecasts.partitions import category_partitions

category_forecast_job = dg.define_asset_job(
    "category_forecast_job",
    selection=dg.AssetSelection.assets(FORECAST_DATA, FORECAST_METRICS),
    partitions_def=category_partitions,
    description="Forecast, backtest and chart categories (a multi-category run uses one process pool).",
)
