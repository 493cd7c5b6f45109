import pandas as pd
import pytest

from tsplatform.stream import sensor_stats


def test_counts_rates_ranges_and_gaps_per_sensor():
    one = pd.date_range("2024-01-01", periods=61, freq="1min", tz="UTC")
    one = one.delete(range(20, 30))  # an 11-minute hole
    two = pd.date_range("2024-01-01", periods=11, freq="10s", tz="UTC")
    records = pd.concat(
        [
            pd.DataFrame({"sensor_id": "a", "ts": one, "value": range(len(one))}),
            pd.DataFrame({"sensor_id": "b", "ts": two, "value": 5.0}),
        ]
    ).sample(frac=1.0, random_state=1)
    table = sensor_stats(records)
    a, b = table.loc["a"], table.loc["b"]
    assert a["count"] == 51 and b["count"] == 11
    assert a["rate_per_second"] == pytest.approx(50 / 3600)
    assert b["rate_per_second"] == pytest.approx(0.1)
    assert (a["min"], a["max"], a["mean"]) == (0, 50, 25)
    assert a["last_seen"] == pd.Timestamp("2024-01-01T01:00Z")
    assert a["median_interval"] == pd.Timedelta("1min")
    assert a["gaps"] == 1 and a["largest_gap"] == pd.Timedelta("11min")
    assert b["gaps"] == 0 and pd.isna(b["largest_gap"])


def test_a_single_reading_has_no_rate():
    records = pd.DataFrame({"sensor_id": ["x"], "ts": [pd.Timestamp("2024-01-01", tz="UTC")], "value": [1.0]})
    row = sensor_stats(records).loc["x"]
    assert row["count"] == 1 and pd.isna(row["rate_per_second"]) and row["gaps"] == 0
