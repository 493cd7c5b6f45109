"""Which open batches are owed one more run: the rule, without Dagster.

A batch's one transaction either committed or did not, so a batch still open (uploaded or
processing) whose runs all ended without completing it can safely run again. The caller looks
the runs up (``tsplatform.defs.invoices.recovery``: the Dagster instance's runs of the batch's
partition) and hands them over, newest first, as (run id, finished).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

MAX_RUNS_PER_BATCH = 5  # then a person looks (the batch stays open; its runs' logs say why)

RunState = tuple[str, bool]  # (run id, finished)


def run_owed(
    batch: str, runs: Sequence[RunState], processing_run_id: str | None, log: Callable[[str], None] | None = None
) -> str | None:
    """The run id to report as interrupted when ``batch`` is owed a run, else None.

    ``processing_run_id``: the run that claimed the batch when it is 'processing' (None when it is
    waiting). A processing batch no known run belongs to was started under a run this instance does
    not know (its storage was reset): owed. A batch never asked for, or with a run still going, is
    not; nor one that has had ``MAX_RUNS_PER_BATCH`` runs already."""
    if not runs:
        return processing_run_id
    if not all(finished for _, finished in runs):
        return None
    if len(runs) >= MAX_RUNS_PER_BATCH:
        if log is not None:
            log(f"batch {batch}: {len(runs)} runs ended without completing it; not asking again by itself")
        return None
    return runs[0][0]
