"""Case 9: alarm events on real series with labelled failures (NAB), beside the per-reading detector.

    python -m benchmarks --only alarms        # in the suite's one table
    python -m benchmarks.alarms [--markdown] [--sensitivity]   # alone: the per-file table

Per NAB file (``benchmarks/nab.py``; probation left out): readings, windows, windows caught,
false-alarm events, their rate per 1,000 scored readings, and NAB's standard-profile score, for

- ``per reading``: ``detect_anomalies`` as the ``sensor_anomalies`` asset runs it (41 readings,
  centred, |z| > 5; it sees readings after the one it judges). Its false-alarm events are runs of
  consecutive flagged readings (the ``no_new_anomalies`` check reported every flagged reading);
  the count of flagged readings outside windows is beside them;
- ``alarms``: ``tsplatform.stream.alarms`` with its defaults (causal; one event per alarm, the
  detection is the alarm's start).

Then the demo generator: every injected spike (10 seeds x 3 sensors x 2 days at 1 min, spike
probability 0.5%, after each series' first hour, which has too little history to score), and
spikes sent with ``generator.spike()``, must fall in an alarm. Targets over the five files:
at least 75% of the windows caught, at most 0.25 false-alarm events per 1,000 readings.
``--sensitivity``: the same totals over a few values of each setting. Runs in seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from benchmarks import nab
from benchmarks.report import Figure, text_table

CASE = "9 alarms"
TARGET_CAUGHT, TARGET_PER_THOUSAND = 0.75, 0.25
PER_READING = {"window": 41, "threshold": 5.0, "min_periods": 5}  # AnomalyConfig's defaults
GENERATOR_SEEDS, GENERATOR_DAYS, GENERATOR_STEP, SPIKE_PROBABILITY = 10, 2, "1min", 0.005
WARM_UP = pd.Timedelta("1h")
SENSITIVITY = {"threshold": (6.0, 8.0, 10.0), "cooldown": ("12h", "1D", "2D"), "tail_factor": (1.25, 1.5, 2.0)}


def per_reading_detections(series: pd.Series) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(every flagged reading, the first of each run of consecutive flagged readings)."""
    from tsplatform.stream import detect_anomalies

    flagged = detect_anomalies(series, **PER_READING)["is_anomaly"].to_numpy()
    starts = flagged & ~np.r_[False, flagged[:-1]]
    return series.index[flagged], series.index[starts]


def alarm_detections(series: pd.Series, settings=None) -> pd.DatetimeIndex:
    from tsplatform.stream.alarms import detect_alarms

    return pd.DatetimeIndex(detect_alarms(series, settings)["start"])


def measure_nab(files: list[nab.LabelledSeries] | None = None, settings=None) -> dict:
    """Per file and in total: the per-reading detector's scores and the alarms' scores."""
    files = files if files is not None else nab.load()
    old, new, flagged_outside = [], [], {}
    for labelled in files:
        flagged, runs = per_reading_detections(labelled.series)
        old.append(nab.score_file(labelled, runs))
        flagged_outside[labelled.name] = nab.score_file(labelled, flagged).false_alarms
        new.append(nab.score_file(labelled, alarm_detections(labelled.series, settings)))
    return {"per_reading": old, "alarms": new, "flagged_outside": flagged_outside}


def measure_generator(settings=None) -> dict:
    """Injected spikes (after each series' first hour) that fall in an alarm, and commanded ones."""
    from tsplatform.stream import ReadingGenerator
    from tsplatform.stream.alarms import AlarmSettings, group_alarms, score_readings

    settings = settings or AlarmSettings()
    steps = int(pd.Timedelta(days=GENERATOR_DAYS) / pd.Timedelta(GENERATOR_STEP))
    spikes = caught = other = alarms = 0
    for seed in range(GENERATOR_SEEDS):
        readings = ReadingGenerator(3, spike_probability=SPIKE_PROBABILITY, seed=seed).simulate("2024-01-01", steps, GENERATOR_STEP)
        for _, rows in readings.groupby("sensor_id"):
            series = pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["ts"]))
            scored = score_readings(series, settings)
            found = group_alarms(scored, settings.cooldown)
            inside = _inside(series.index, found)
            truth = rows["is_spike"].to_numpy() & (series.index >= series.index[0] + WARM_UP)
            spikes, caught = spikes + int(truth.sum()), caught + int((truth & inside).sum())
            other += int((scored["is_anomaly"].to_numpy() & ~rows["is_spike"].to_numpy()).sum())
            alarms += len(found)
    commanded = _commanded_spikes(settings)
    return {"spikes": spikes, "caught": caught, "other_flagged": other, "alarms": alarms, **commanded}


def _commanded_spikes(settings) -> dict:
    """``generator.spike()`` on a quiet generator after 4 h of history, two sensors: each an alarm at its time."""
    from tsplatform.stream import ReadingGenerator
    from tsplatform.stream.alarms import detect_alarms

    generator = ReadingGenerator(3, seed=13, spike_probability=0.0)
    quiet = generator.simulate("2024-01-01", 240, "1min")
    generator.spike("sensor_2", 60.0)
    generator.spike("sensor_3", -45.0)
    readings = pd.concat([quiet, generator.simulate("2024-01-01 04:00", 240, "1min")])
    sent = {"sensor_2": pd.Timestamp("2024-01-01 04:00", tz="UTC"), "sensor_3": pd.Timestamp("2024-01-01 04:00", tz="UTC")}
    found = 0
    for sensor, rows in readings.groupby("sensor_id"):
        alarms = detect_alarms(pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["ts"])), settings)
        starts = set(pd.DatetimeIndex(alarms["start"]))
        found += int(sensor in sent and sent[sensor] in starts and len(alarms) == 1)
        found -= int(sensor not in sent and len(alarms) > 0)  # a quiet sensor must stay quiet
    return {"commanded": len(sent), "commanded_caught": found}


def _inside(index: pd.DatetimeIndex, alarms: pd.DataFrame) -> np.ndarray:
    inside = np.zeros(len(index), bool)
    for start, end in zip(alarms["start"], alarms["end"]):
        inside |= (index >= start) & (index <= end)
    return inside


def sensitivity(files: list[nab.LabelledSeries]) -> list[tuple[str, object, nab.FileScore, float]]:
    """(setting, value, totals, NAB score) for each value in ``SENSITIVITY``, the others at their defaults."""
    from tsplatform.stream.alarms import AlarmSettings

    rows = []
    for name, values in SENSITIVITY.items():
        for value in values:
            settings = dataclasses.replace(AlarmSettings(), **{name: value})
            scores = [nab.score_file(f, alarm_detections(f.series, settings)) for f in files]
            rows.append((name, value, nab.total(scores), nab.nab_score(scores)))
    return rows


def file_table(result: dict, markdown: bool = False) -> str:
    header = ["file", "readings", "windows", "caught (per reading / alarms)", "false-alarm events",
              "per 1,000", "NAB score"]
    body = []
    pairs = list(zip(result["per_reading"], result["alarms"]))
    pairs.append((nab.total(result["per_reading"]), nab.total(result["alarms"])))
    for old, new in pairs:
        flagged = result["flagged_outside"].get(old.name, sum(result["flagged_outside"].values()))
        old_nab = nab.nab_score([old]) if old.name != "all" else nab.nab_score(result["per_reading"])
        new_nab = nab.nab_score([new]) if new.name != "all" else nab.nab_score(result["alarms"])
        body.append([
            old.name, f"{old.readings:,} ({old.scored:,} scored)", str(old.windows), f"{old.caught} / {new.caught}",
            f"{old.false_alarms:,} ({flagged:,} readings) / {new.false_alarms}",
            f"{old.per_thousand:.2f} / {new.per_thousand:.2f}", f"{old_nab:.1f} / {new_nab:.1f}",
        ])
    return text_table(header, body, markdown)


def sensitivity_table(rows, markdown: bool = False) -> str:
    header = ["setting", "value", "caught", "false-alarm events", "per 1,000", "NAB score"]
    body = [[name, str(value), f"{t.caught}/{t.windows} ({t.caught / t.windows:.0%})", str(t.false_alarms),
             f"{t.per_thousand:.2f}", f"{score:.1f}"] for name, value, t, score in rows]
    return text_table(header, body, markdown)


def figures(result: dict, generator: dict, seconds: float) -> list[Figure]:
    old, new = nab.total(result["per_reading"]), nab.total(result["alarms"])
    rows = [
        Figure(CASE, "NAB, 5 files: windows caught", 100 * new.caught / new.windows, "%",
               baseline=100 * old.caught / old.windows, baseline_label="per reading",
               ratio=(new.caught / old.caught) if old.caught else None,
               target=f">= {TARGET_CAUGHT:.0%}", met=new.caught / new.windows >= TARGET_CAUGHT,
               note=f"{new.caught} of {new.windows} windows (per reading: {old.caught})"),
        Figure(CASE, "NAB, 5 files: false-alarm events per 1,000 readings", new.per_thousand,
               baseline=old.per_thousand, baseline_label="per reading",
               ratio=(old.per_thousand / new.per_thousand) if new.per_thousand else None,
               target=f"<= {TARGET_PER_THOUSAND}", met=new.per_thousand <= TARGET_PER_THOUSAND,
               note=f"{new.false_alarms} events in {new.scored:,} scored readings (per reading: {old.false_alarms:,} runs)"),
        Figure(CASE, "NAB, 5 files: standard-profile score", nab.nab_score(result["alarms"]),
               baseline=nab.nab_score(result["per_reading"]), baseline_label="per reading",
               note="0 = never fires, 100 = one alarm at the start of every window"),
    ]
    for old_file, new_file in zip(result["per_reading"], result["alarms"]):
        rows.append(Figure(CASE, f"NAB {new_file.name}: false alarms per 1,000", new_file.per_thousand,
                           baseline=old_file.per_thousand, baseline_label="per reading",
                           note=f"caught {new_file.caught}/{new_file.windows} (per reading {old_file.caught}), "
                                f"{new_file.false_alarms} false alarms (per reading {old_file.false_alarms:,})"))
    share = generator["caught"] / generator["spikes"] if generator["spikes"] else 0.0
    rows.append(Figure(CASE, "generator spikes in an alarm", 100 * share, "%", target="100%",
                       met=share == 1.0 and generator["commanded_caught"] == generator["commanded"],
                       note=f"{generator['caught']}/{generator['spikes']} random spikes after the first hour, "
                            f"{generator['commanded_caught']}/{generator['commanded']} commanded; "
                            f"{generator['other_flagged']} other readings flagged, {generator['alarms']} alarms"))
    rows.append(Figure(CASE, "wall time", seconds, "s"))
    return rows


def run(sizes) -> list[Figure]:
    """The suite's entry (the same work in --quick: it takes seconds)."""
    started = time.perf_counter()
    result, generator = measure_nab(), measure_generator()
    print(file_table(result, markdown=True), flush=True)
    return figures(result, generator, time.perf_counter() - started)




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alarms", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--sensitivity", action="store_true", help="also the totals over a few values of each setting")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = nab.load()
    result, generator = measure_nab(files), measure_generator()
    print("NAB, per file: per-reading detector / alarms (one run)")
    print(file_table(result, markdown=args.markdown))
    print()
    print(f"generator: {generator['caught']}/{generator['spikes']} random spikes after the first hour in an alarm, "
          f"{generator['commanded_caught']}/{generator['commanded']} commanded spikes; "
          f"{generator['other_flagged']} other readings flagged; {generator['alarms']} alarms")
    if args.sensitivity:
        print()
        print("sensitivity (NAB totals; the other settings at their defaults)")
        print(sensitivity_table(sensitivity(files), markdown=args.markdown))
    print(f"\n{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
