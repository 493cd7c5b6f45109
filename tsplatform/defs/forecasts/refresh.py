"""A forecast refresh is ONE run of ``category_forecast_job`` over a range of category partitions.

A partitioned job runs a range of partitions in one run when the run carries Dagster's range tags;
the forecast step then fits every category of the range in one process pool. A range is contiguous
in partition order (the order categories were added as dynamic partitions), so refreshing a set of
categories runs first..last of them: categories inside that span that did not change are
re-forecast too (cheaper than a second run, and the result is the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from tsplatform.defs.dagster_tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

CATEGORY_FORECAST_JOB = "category_forecast_job"
TRIGGER_TAG = "tsplatform/trigger"  # schedule | data: why the refresh ran


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run cover the partitions ``first`` .. ``last`` (inclusive)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def covering_range(categories: Iterable[str], partition_order: Sequence[str]) -> tuple[str, str]:
    """First and last of ``categories`` in ``partition_order``; every category must be a partition."""
    wanted = set(categories)
    unknown = wanted - set(partition_order)
    if unknown:
        raise ValueError(f"not category partitions (yet): {', '.join(sorted(unknown))}")
    if not wanted:
        raise ValueError("no categories to refresh")
    inside = [key for key in partition_order if key in wanted]
    return inside[0], inside[-1]


def refresh_request(
    categories: Iterable[str], partition_order: Sequence[str], run_key: str, trigger: str
) -> dg.RunRequest:
    """One run request of ``category_forecast_job`` covering ``categories``."""
    first, last = covering_range(categories, partition_order)
    return dg.RunRequest(
        run_key=run_key,
        job_name=CATEGORY_FORECAST_JOB,
        tags={**range_tags(first, last), TRIGGER_TAG: trigger},
    )
