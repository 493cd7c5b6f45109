"""Calendar inference, gap filling and data-level flags (no model fitting here)."""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import flags as F
from tsplatform.forecasting.frequency import describe_frequency, infer_frequency
from tsplatform.forecasting.preparation import prepare_series

from .synthetic import random_walk_series, yearly_series


@pytest.mark.parametrize(
    ("freq", "expected_kind", "expected_season"),
    [
        ("D", "daily", 7),
        ("W-WED", "weekly", 1),
        ("MS", "monthly", 12),
        ("ME", "monthly", 12),
        ("QS-JAN", "quarterly", 4),
        ("B", "business", 5),
        ("h", "subdaily", 24),
    ],
)
def test_calendar_is_inferred_despite_gaps(freq, expected_kind, expected_season):
    index = pd.date_range("2021-01-01", periods=40, freq=freq)
    with_gaps = index.delete([3, 4, 17, 30])
    offset = infer_frequency(with_gaps)
    assert list(pd.date_range(index[0], index[-1], freq=offset)) == list(index)
    profile = describe_frequency(offset)
    assert profile.kind == expected_kind
    assert profile.season_length == expected_season


def test_irregular_timestamps_are_rejected():
    index = pd.DatetimeIndex(["2023-01-01", "2023-01-02", "2023-01-04 07:13", "2023-01-09"])
    with pytest.raises(ValueError, match="regular calendar"):
        prepare_series(pd.Series([1.0, 2, 3, 4], index=index))


def test_gaps_are_filled_and_recorded():
    index = pd.date_range("2023-01-01", periods=70, freq="D")
    pattern = np.array([10.0, 12, 14, 16, 18, 30, 40])
    full = pd.Series(pattern[np.arange(70) % 7], index=index)
    missing = [20, 21, 22, 45]
    prepared = prepare_series(full.drop(index[missing]))

    assert prepared.n == 70
    assert F.GAPS_FILLED in prepared.flags
    assert prepared.notes["filled_points"] == 4
    assert list(np.flatnonzero(~prepared.observed)) == missing
    # observed values are untouched; a perfectly repeating week is filled back exactly,
    # which plain linear interpolation (it would draw a straight line) would not do
    np.testing.assert_allclose(prepared.values.to_numpy(), full.to_numpy(), atol=1e-9)


def test_nan_values_count_as_gaps_and_duplicates_are_averaged():
    index = pd.DatetimeIndex(["2023-01-01", "2023-01-02", "2023-01-02", "2023-01-03", "2023-01-04"])
    series = pd.Series([1.0, 2.0, 4.0, np.nan, 5.0], index=index)
    prepared = prepare_series(series)
    assert prepared.values.loc["2023-01-02"] == 3.0
    assert prepared.notes["duplicate_timestamps_averaged"] == 1
    assert not prepared.observed[2] and np.isfinite(prepared.values.iloc[2])


def test_trailing_points_are_carried_forward_not_interpolated():
    series = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2023-01-01", periods=3))
    prepared = prepare_series(series, freq="D", end=pd.Timestamp("2023-01-05"))
    assert list(prepared.values) == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_data_flags():
    days = lambda n: pd.date_range("2023-01-01", periods=n)  # noqa: E731
    assert F.NAIVE_SHORT_SERIES in prepare_series(pd.Series([3.0, 4, 5], index=days(3))).flags
    assert F.CONSTANT_SERIES in prepare_series(pd.Series(np.zeros(30), index=days(30))).flags
    assert F.NO_SEASONAL_TERM in prepare_series(pd.Series(np.arange(10.0), index=days(10))).flags
    assert F.NO_SEASONAL_TERM not in prepare_series(pd.Series(np.arange(20.0), index=days(20))).flags
    sparse = np.zeros(40)
    sparse[::5] = 3.0
    assert F.INTERMITTENT_SERIES in prepare_series(pd.Series(sparse, index=days(40))).flags


def test_nonnegative_is_inferred_from_history():
    days = pd.date_range("2023-01-01", periods=20)
    assert prepare_series(pd.Series(np.arange(20.0), index=days)).nonnegative
    assert not prepare_series(pd.Series(np.arange(20.0) - 5, index=days)).nonnegative
    assert not prepare_series(pd.Series(np.arange(20.0), index=days), nonnegative=False).nonnegative


def test_yearly_seasonality_needs_two_years_and_a_repeating_pattern():
    assert prepare_series(yearly_series(730)).yearly is not None
    assert prepare_series(yearly_series(700)).yearly is None  # less than two years
    # a random walk's wander is not a yearly cycle
    assert prepare_series(random_walk_series(730)).yearly is None


def test_local_time_zone_daily_series_across_dst_with_gaps():
    index = pd.date_range("2023-03-01", periods=90, freq="D", tz="Europe/Berlin")  # spans the March DST switch
    series = pd.Series(np.arange(90.0) % 7 + 10, index=index).drop(index[[40, 41]])
    prepared = prepare_series(series)
    assert prepared.profile.kind == "daily"
    assert list(prepared.values.index) == list(index)
    assert prepared.future_index(2)[0] == index[-1] + pd.offsets.Day()


def test_missing_timestamps_are_ignored():
    index = pd.DatetimeIndex(["2023-01-01", None, "2023-01-03", "2023-01-04"])
    prepared = prepare_series(pd.Series([1.0, 9.0, 3.0, 4.0], index=index))
    assert prepared.n == 4 and prepared.notes["filled_points"] == 1
