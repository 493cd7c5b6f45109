"""Requests that refresh forecasts for a set of categories in ONE run (a single-run backfill).

Dagster's public ``RunRequest`` targets one partition; a set of partitions in one run goes through
a backfill, which the sensor daemon launches from ``RunRequest.for_asset_graph_subset`` and which
the forecast assets' single-run backfill policy executes as one run.
"""

from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey

from tsplatform.defs.forecasts.assets import FORECAST_DATA, FORECAST_METRICS


def refresh_request(categories: Iterable[str], asset_graph, tags: dict[str, str] | None = None) -> dg.RunRequest:
    wanted = {
        AssetKeyPartitionKey(key, category)
        for key in (FORECAST_DATA, FORECAST_METRICS)
        for category in categories
    }
    return dg.RunRequest.for_asset_graph_subset(AssetGraphSubset.from_asset_partition_set(wanted, asset_graph), tags=tags or {})
