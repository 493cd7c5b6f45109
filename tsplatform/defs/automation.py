"""Declarative automation, on by default: assets with an ``automation_condition`` (the daily
aggregate, the report index) update themselves when their inputs change."""

import dagster as dg

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Evaluates the assets' automation conditions (eager after upstream updates).",
)
