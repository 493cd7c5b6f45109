"""A forecast refresh is ONE run of ``category_forecast_job`` over a range of category partitions
(by default; ``refresh_requests`` splits it into runs of at most N categories when
``TSPLATFORM_FORECAST_CATEGORIES_PER_RUN`` or celery mode asks for it: tsplatform/scale_out.py).

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
# a refresh split into several runs (TSPLATFORM_FORECAST_CATEGORIES_PER_RUN, celery mode): every run
# carries the refresh's run key and its part, "2/5"
REFRESH_TAG = "tsplatform/refresh"
REFRESH_PART_TAG = "tsplatform/refresh_part"


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


def refresh_requests(
    categories: Iterable[str], partition_order: Sequence[str], run_key: str, trigger: str, per_run: int | None = None
) -> list[dg.RunRequest]:
    """The runs of one refresh of ``categories``: ``[refresh_request(...)]`` when ``per_run`` is None
    (today's single run), else the categories in partition order in groups of at most ``per_run``,
    one run per group over that group's range (ranges never overlap). Run keys ``run_key:1/n``..."""
    if not per_run:
        return [refresh_request(categories, partition_order, run_key, trigger)]
    if per_run < 1:
        raise ValueError(f"per_run must be at least 1, got {per_run}")
    covering_range(categories, partition_order)  # the same errors as one run
    wanted = set(categories)
    inside = [key for key in partition_order if key in wanted]
    groups = [inside[start:start + per_run] for start in range(0, len(inside), per_run)]
    requests = []
    for number, group in enumerate(groups, start=1):
        part = f"{number}/{len(groups)}"
        requests.append(dg.RunRequest(
            run_key=f"{run_key}:{part}",
            job_name=CATEGORY_FORECAST_JOB,
            tags={**range_tags(group[0], group[-1]), TRIGGER_TAG: trigger, REFRESH_TAG: run_key, REFRESH_PART_TAG: part},
        ))
    return requests
