import numpy as np
import pandas as pd
import pytest

from tsplatform.stream import ReadingGenerator, detect_anomalies, sensor_series, smooth


def generated(step="1min", days=7, seed=3, probability=0.01):
    readings = ReadingGenerator(1, spike_probability=probability, seed=seed).simulate(
        "2024-01-01", int(pd.Timedelta(days=days) / pd.Timedelta(step)), step
    )
    series = pd.Series(readings.value.to_numpy(), index=pd.DatetimeIndex(readings.ts))
    return series, readings.is_spike.to_numpy()


def recall_and_false_positive_rate(flags, truth):
    recall = (flags & truth).sum() / truth.sum()
    false_positive_rate = (flags & ~truth).sum() / (~truth).sum()
    return recall, false_positive_rate


@pytest.mark.parametrize(
    "step, window, center",
    [("1min", None, True), ("5min", "2h", True), ("1min", "30min", False), ("30min", None, True)],
)
def test_injected_spikes_are_found_with_few_false_alarms(step, window, center):
    days = 60 if step == "30min" else 7
    series, truth = generated(step, days=days)
    result = detect_anomalies(series, window=window, center=center)
    assert list(result.columns) == ["value", "score", "is_anomaly"]
    recall, false_positive_rate = recall_and_false_positive_rate(result.is_anomaly.to_numpy(), truth)
    assert truth.sum() > 20
    assert recall >= 0.9
    assert false_positive_rate < 0.01


def test_count_window_and_custom_threshold():
    series, truth = generated("1min", days=3)
    loose = detect_anomalies(series, window=31, threshold=3.5)
    strict = detect_anomalies(series, window=31, threshold=50)
    assert recall_and_false_positive_rate(loose.is_anomaly.to_numpy(), truth)[0] >= 0.9
    assert strict.is_anomaly.sum() < loose.is_anomaly.sum()


def test_result_is_indexed_like_an_unsorted_series_with_duplicates():
    series, _ = generated("1min", days=1)
    shuffled = series.sample(frac=1.0, random_state=0)
    with_duplicate = pd.concat([shuffled, shuffled.iloc[:5]])
    result = detect_anomalies(with_duplicate)
    assert result.index.equals(with_duplicate.index)
    assert (result.value.to_numpy() == with_duplicate.to_numpy()).all()
    on_sorted = detect_anomalies(series)
    assert result.loc[shuffled.index[100:110], "score"].to_numpy() == pytest.approx(
        on_sorted.loc[shuffled.index[100:110], "score"].to_numpy(), abs=0.5
    )


def test_flat_data_does_not_divide_by_zero():
    index = pd.date_range("2024-01-01", periods=200, freq="1min", tz="UTC")
    flat = pd.Series(5.0, index=index)
    assert (detect_anomalies(flat).score == 0).all()
    stepped = flat.copy()
    stepped.iloc[100] = 9.0
    result = detect_anomalies(stepped)
    assert result.is_anomaly.tolist().count(True) == 1 and result.is_anomaly.iloc[100]
    assert np.isfinite(result.score.iloc[100])


def test_a_window_too_short_for_min_periods_is_an_error():
    series, _ = generated("30min", days=3)
    with pytest.raises(ValueError, match="wider window"):
        detect_anomalies(series, window="1h")


def test_smooth_is_a_time_based_average_indexed_like_the_input():
    series, _ = generated("1min", days=2, probability=0.0)
    readings = ReadingGenerator(1, spike_probability=0.0, seed=3).simulate("2024-01-01", len(series), "1min")
    expected = readings.expected.to_numpy()
    smoothed = smooth(series, "30min")
    assert smoothed.index.equals(series.index)
    assert np.abs(smoothed.to_numpy() - expected).mean() < 0.5 * np.abs(series.to_numpy() - expected).mean()
    irregular = series.iloc[np.r_[0:100, 400:500]]  # a gap must not stretch the window
    assert smooth(irregular, "10min").iloc[100] == pytest.approx(irregular.iloc[100:106].mean())
    trailing = smooth(series, "10min", center=False)
    assert trailing.iloc[20] == pytest.approx(series.iloc[11:21].mean())


def test_sensor_series_picks_one_sensor_in_time_order():
    readings = ReadingGenerator(2, seed=1).simulate("2024-01-01", 10, "1min").iloc[::-1]
    series = sensor_series(readings, "sensor_2")
    assert len(series) == 10 and series.index.is_monotonic_increasing and series.name == "sensor_2"
