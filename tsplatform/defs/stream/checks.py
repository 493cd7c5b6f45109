"""The sensor stream's asset checks: evaluated inside the assets (they know what is new), built here.

- ``no_new_anomalies`` on ``sensor_anomalies`` (ERROR): fails when a scan records anomalies not
  seen before; the anomalies (sensor, time, value, score) are its metadata.
  Not blocking: a spike is a finding in valid data, and the charts downstream are where it is shown.
- ``stream_lines_are_readings`` on ``sensor_readings`` (blocking): WARN when the ingested range had
  malformed lines or duplicate (sensor_id, ts) readings (they are in ``rejected_readings``, the rest
  goes on); ERROR when the tables do not hold what the range's counts say: sensor_readings must hold
  a row for every line counted as stored (inserted now or before), rejected_readings one for every
  line set aside. That fails the step, so the stats and the anomaly scan do not run on lost data.
"""

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from tsplatform.defs.stream.analysis import AnomalyScan
from tsplatform.defs.stream.ingest import IngestOutcome, reject_reasons, rejects_preview
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import accounting as table_accounting

NO_NEW_ANOMALIES = "no_new_anomalies"
STREAM_LINES_ARE_READINGS = "stream_lines_are_readings"
PREVIEW_ROWS = 25


def no_new_anomalies_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        NO_NEW_ANOMALIES,
        asset=asset,
        description=(
            "Fails when the readings stored since the last scan contain spikes not recorded before "
            "(|robust z-score| above the threshold); the new anomalies are listed in the check's metadata."
        ),
    )


def stream_lines_are_readings_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        STREAM_LINES_ARE_READINGS,
        asset=asset,
        description=(
            "Every line of the ingested range is a valid reading with a (sensor_id, ts) of its own "
            "(WARN otherwise: such lines are kept out of sensor_readings and listed in rejected_readings), "
            "and the tables hold what the range's counts say (ERROR otherwise, blocking the stats and "
            "the anomaly scan)."
        ),
        blocking=True,
    )


def anomalies_markdown(anomalies: pd.DataFrame, limit: int = PREVIEW_ROWS) -> str:
    if anomalies.empty:
        return "none"
    shown = anomalies.assign(magnitude=anomalies["score"].abs()).nlargest(limit, "magnitude")
    shown = shown.sort_values(["sensor_id", "ts"])[["sensor_id", "ts", "value", "score"]]
    text = shown.to_markdown(index=False, floatfmt=".2f")
    if len(anomalies) > limit:
        text += f"\n\n… and {len(anomalies) - limit} more (the {limit} largest scores are shown)"
    return text


def anomaly_check_result(asset: dg.AssetKey, scan: AnomalyScan, threshold: float) -> dg.AssetCheckResult:
    new = scan.new
    per_sensor = new["sensor_id"].value_counts().sort_index() if len(new) else pd.Series(dtype=int)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=NO_NEW_ANOMALIES,
        passed=new.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(new)} new anomal{'y' if len(new) == 1 else 'ies'} (|score| > {threshold:g})" if len(new)
            else "no new anomalies"
        ),
        metadata={
            "num_new_anomalies": len(new),
            "threshold": float(threshold),
            "anomalies": dg.MetadataValue.md(anomalies_markdown(new)),
            "per_sensor": dg.MetadataValue.json({str(k): int(v) for k, v in per_sensor.items()}),
            "readings_scanned": scan.readings_scanned,
        },
    )


@dataclass(frozen=True)
class RangeAccounting:
    """The range's counts against the rows its lines have in the tables now."""

    readings_expected: int  # inserted + already stored
    readings_held: int  # sensor_readings rows from the range's lines
    set_aside_expected: int  # rejected + duplicates
    set_aside_held: int  # rejected_readings rows from the range's lines

    def problems(self) -> list[str]:
        problems = []
        if self.readings_held != self.readings_expected:
            problems.append(
                f"sensor_readings holds {self.readings_held} rows from this range's lines; "
                f"{self.readings_expected} were counted as stored"
            )
        if self.set_aside_held != self.set_aside_expected:
            problems.append(
                f"rejected_readings holds {self.set_aside_held} rows from this range's lines; "
                f"{self.set_aside_expected} were counted as rejected or duplicate"
            )
        return problems


def range_accounting(warehouse: Warehouse, outcome: IngestOutcome) -> RangeAccounting:
    """Count, in the tables, the rows that came from the lines this range read."""
    result, counts = outcome.result, outcome.counts
    positions = pd.concat(
        [result.positions[["segment", "offset"]] if result.positions is not None else None, result.rejects[["segment", "offset"]]]
    )
    spans = [
        table_accounting.SegmentSpan(str(segment), int(offsets.min()), int(offsets.max()))
        for segment, offsets in positions.groupby("segment")["offset"]
    ] if len(positions) else []
    sensors = sorted(result.records["sensor_id"].astype(str).unique().tolist())
    with warehouse.transaction() as session:
        readings, set_aside = table_accounting.rows_from_stream_lines(session, spans, sensors, counts.min_ts, counts.max_ts)
    return RangeAccounting(
        readings_expected=counts.inserted + counts.already_stored,
        readings_held=readings,
        set_aside_expected=counts.rejected + counts.duplicates,
        set_aside_held=set_aside,
    )


def readings_check_result(asset: dg.AssetKey, outcome: IngestOutcome, accounting: RangeAccounting) -> dg.AssetCheckResult:
    counts = outcome.counts
    issues = outcome.result.issues
    problems = accounting.problems()
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=STREAM_LINES_ARE_READINGS,
        passed=counts.rejected == 0 and counts.duplicates == 0 and not problems,
        severity=dg.AssetCheckSeverity.ERROR if problems else dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or None,
        metadata={
            "num_rejected_lines": counts.rejected,
            "num_duplicates": counts.duplicates,
            "num_out_of_order": int((issues["issue"] == "out of order").sum()) if len(issues) else 0,
            "num_readings_counted_stored": accounting.readings_expected,
            "num_readings_in_table_from_range": accounting.readings_held,
            "num_lines_counted_set_aside": accounting.set_aside_expected,
            "num_lines_in_rejected_readings_from_range": accounting.set_aside_held,
            "reasons": dg.MetadataValue.json(reject_reasons(outcome.result.rejects)),
            "rejected_lines": dg.MetadataValue.md(rejects_preview(outcome)),
        },
    )
