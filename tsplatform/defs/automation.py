"""Automation shared by the domains: declarative automation, on by default (assets with an
``automation_condition``, the daily aggregate and the report index, update themselves when their
inputs change), and the form of a refresh schedule."""

import os
from typing import Any

import dagster as dg

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Evaluates the assets' automation conditions (eager after upstream updates).",
)


def refresh_schedule_attributes(cron_variable: str, default_cron: str, description: str) -> dict[str, Any]:
    """Keyword arguments of a schedule that runs by default, in UTC, on the cron in ``cron_variable``
    (``default_cron`` when unset or blank; read when the code location loads: restart Dagster after
    changing it). ``{when}`` in ``description`` becomes the cron and the variable that overrides it."""
    cron = os.environ.get(cron_variable, "").strip() or default_cron
    return {
        "cron_schedule": cron,
        "execution_timezone": "UTC",
        "default_status": dg.DefaultScheduleStatus.RUNNING,
        "description": description.format(when=f"{cron}, UTC; {cron_variable} overrides"),
    }
