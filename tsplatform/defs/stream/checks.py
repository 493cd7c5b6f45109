"""The sensor stream's asset checks: declared on their assets and evaluated inside them (they know what
is new); their names, descriptions and results are built here.

- ``no_new_anomalies`` on ``sensor_anomalies`` (ERROR): fails when a scan raises alarms
  (``tsplatform.stream.alarms``: anomalous readings less than a cool-down apart are one alarm);
  its metadata lists each new alarm (sensor, start, peak score, a link to the sensor's chart), not
  every flagged reading. Readings that only continue an earlier alarm do not fail it again.
  Not blocking: an alarm is a finding in valid data, and the charts downstream are where it is shown.
- ``stream_lines_are_readings`` on ``sensor_readings`` (blocking): WARN when the ingested range had
  malformed lines or duplicate (sensor_id, ts) readings (they are in ``rejected_readings``, the rest
  goes on); ERROR when the tables do not hold what the range's counts say: sensor_readings must hold
  a row for every line counted as stored (inserted now or before), rejected_readings one for every
  line set aside. That fails the step, so the stats and the anomaly scan do not run on lost data.
"""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from tsplatform import settings
from tsplatform.stream import chart_file_name
from tsplatform.stream.analysis import CHART_FOLDER, AnomalyScan
from tsplatform.stream.range_ingest import IngestOutcome, reject_reasons, rejects_preview
from tsplatform.warehouse import Warehouse
from tsplatform.warehouse import accounting as table_accounting

NO_NEW_ANOMALIES = "no_new_anomalies"
NO_NEW_ANOMALIES_DESCRIPTION = (
    "Fails when the readings stored since the last scan raise an alarm: readings far from what "
    "their own past predicted (beyond a threshold set by the sensor's history), those less than a "
    "cool-down apart counted as one alarm. Each new alarm (sensor, start, peak score, chart link) "
    "is in the check's metadata; readings continuing an open alarm do not fail it again."
)
STREAM_LINES_ARE_READINGS = "stream_lines_are_readings"
STREAM_LINES_ARE_READINGS_DESCRIPTION = (
    "Every line of the ingested range is a valid reading with a (sensor_id, ts) of its own "
    "(WARN otherwise: such lines are kept out of sensor_readings and listed in rejected_readings), "
    "and the tables hold what the range's counts say (ERROR otherwise, blocking the stats and "
    "the anomaly scan)."
)
PREVIEW_ROWS = 25


def anomalies_markdown(anomalies: pd.DataFrame, limit: int = PREVIEW_ROWS) -> str:
    if anomalies.empty:
        return "none"
    shown = anomalies.assign(magnitude=anomalies["score"].abs()).nlargest(limit, "magnitude")
    shown = shown.sort_values(["sensor_id", "ts"])[["sensor_id", "ts", "value", "score"]]
    text = shown.to_markdown(index=False, floatfmt=".2f")
    if len(anomalies) > limit:
        text += f"\n\n… and {len(anomalies) - limit} more (the {limit} largest scores are shown)"
    return text


def chart_url(sensor: str, reports: Path) -> str:
    """Where a browser opens the sensor's chart page (``tsplatform serve`` serves the reports)."""
    return settings.report_url(Path(reports) / CHART_FOLDER / chart_file_name(sensor), reports)


def alarms_markdown(alarms: pd.DataFrame, reports: Path, limit: int = PREVIEW_ROWS) -> str:
    """One row per alarm: sensor, start, peak time, peak score against its threshold, readings, chart."""
    if alarms.empty:
        return "none"
    shown = alarms.sort_values(["start_ts", "sensor_id"]).head(limit)
    lines = ["| sensor | start | peak | peak score | threshold | readings | chart |", "|---|---|---|---|---|---|---|"]
    for row in shown.itertuples(index=False):
        lines.append(
            f"| {row.sensor_id} | {row.start_ts} | {row.peak_ts} | {row.peak_score:.1f} | {row.threshold:.1f} | "
            f"{int(row.readings)} | [chart]({chart_url(row.sensor_id, reports)}) |"
        )
    if len(alarms) > limit:
        lines.append(f"\n… and {len(alarms) - limit} more")
    return "\n".join(lines)


def anomaly_check_result(asset: dg.AssetKey, scan: AnomalyScan, reports: Path) -> dg.AssetCheckResult:
    raised, continued = scan.alarms, scan.continued
    per_sensor = raised["sensor_id"].value_counts().sort_index() if len(raised) else pd.Series(dtype=int)
    first = raised.sort_values("start_ts").iloc[0] if len(raised) else None
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=NO_NEW_ANOMALIES,
        passed=raised.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(raised)} new alarm{'' if len(raised) == 1 else 's'}, the first on {first.sensor_id} at "
            f"{first.start_ts} (peak score {first.peak_score:.1f})" if first is not None
            else f"no new alarms ({len(continued)} continued)" if len(continued) else "no new alarms"
        ),
        metadata={
            "num_new_alarms": len(raised),
            "alarms": dg.MetadataValue.md(alarms_markdown(raised, reports)),
            "num_continued_alarms": len(continued),
            "continued_alarms": dg.MetadataValue.md(alarms_markdown(continued, reports)),
            "per_sensor": dg.MetadataValue.json({str(k): int(v) for k, v in per_sensor.items()}),
            "num_new_flagged_readings": len(scan.new),
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
