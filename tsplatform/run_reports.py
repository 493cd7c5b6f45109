"""What a person reads about the runs a command executes in its own process.

Dagster's console logger prints every event (DEBUG: step started, output yielded...) to the
terminal. A command runs with it at ``QUIET`` through the run config (the public ``loggers``
config of every job) and says itself what happened, from the run's own events: how long it took,
what it stored, which checks failed, why a step failed. Everything stays in the instance's event
log for the Dagster UI.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import dagster as dg

QUIET = "CRITICAL"  # nothing from Dagster's console logger; failures are reported from the events
VERBOSE = "INFO"  # Dagster's events without the DEBUG ones


def logger_config(level: str = QUIET) -> dict:
    """Run config that sets the console logger's level (merge it into a run's config)."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def timed_run(execute: Callable[[], dg.ExecuteInProcessResult], echo: Callable[[str], None]) -> dg.ExecuteInProcessResult:
    """``execute()``, then its outcome in one or a few indented lines through ``echo``."""
    started = time.perf_counter()
    result = execute()
    for line in describe(result, time.perf_counter() - started):
        echo(f"  {line}")
    return result


def describe(result: dg.ExecuteInProcessResult, seconds: float) -> list[str]:
    """The outcome of a finished run, for people: stored assets and checks, or why it failed."""
    stored = list(dict.fromkeys(event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
                                if event.asset_key is not None))
    checks: dict[str, bool] = {}
    for evaluation in result.get_asset_check_evaluations():
        checks[evaluation.check_name] = checks.get(evaluation.check_name, True) and evaluation.passed
    done = [f"stored {', '.join(stored)}"] if stored else []
    done += [f"check {name} {'passed' if passed else 'FAILED'}" for name, passed in checks.items()]
    if result.success:
        return [f"done in {seconds:.1f} s" + (f": {'; '.join(done)}" if done else "")]
    lines = [f"FAILED after {seconds:.1f} s (run {result.run_id[:8]})" + (f": {'; '.join(done)}" if done else "")]
    for event in result.get_step_failure_events():
        lines.append(f"step {event.step_key}: {_reason(event.step_failure_data.error)}")
    lines.append("details: the run's event log in the Dagster UI, or run again with --verbose")
    return lines


def _reason(error) -> str:
    """The innermost error's first line: the user's exception, not Dagster's wrapper around it."""
    if error is None:
        return "no error recorded"
    while error.cause is not None:
        error = error.cause
    first = (error.message.strip().splitlines() or [error.cls_name or "error"])[0]
    return re.sub(r"^(?:\w+\.)+(\w+): ", r"\1: ", first)  # dagster._core...Failure: x -> Failure: x
