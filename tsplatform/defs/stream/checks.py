"""The sensor stream's asset checks: evaluated inside the assets (they know what is new), built here.

- ``no_new_anomalies`` on ``sensor_anomalies`` (ERROR): fails when a scan records anomalies not
  seen before; the anomalies (sensor, time, value, score) are its metadata.
- ``stream_lines_are_readings`` on ``sensor_readings`` (WARN): fails when the ingested range had
  malformed lines or duplicate (sensor_id, ts) readings; they are in ``rejected_readings``.
"""

import dagster as dg
import pandas as pd

from tsplatform.defs.stream.analysis import AnomalyScan
from tsplatform.defs.stream.ingest import IngestOutcome, reject_reasons, rejects_preview

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
            "Every line of the ingested range is a valid reading with a (sensor_id, ts) of its own. "
            "Lines that are not are kept out of sensor_readings and listed in rejected_readings."
        ),
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


def readings_check_result(asset: dg.AssetKey, outcome: IngestOutcome) -> dg.AssetCheckResult:
    counts = outcome.counts
    issues = outcome.result.issues
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=STREAM_LINES_ARE_READINGS,
        passed=counts.rejected == 0 and counts.duplicates == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "num_rejected_lines": counts.rejected,
            "num_duplicates": counts.duplicates,
            "num_out_of_order": int((issues["issue"] == "out of order").sum()) if len(issues) else 0,
            "reasons": dg.MetadataValue.json(reject_reasons(outcome.result.rejects)),
            "rejected_lines": dg.MetadataValue.md(rejects_preview(outcome)),
        },
    )
