"""M4's scoring (benchmarks/m4_scoring.py) on examples worked out by hand, then on the real M4 hourly set
against the competition's published Naive2 figures: the accuracy benchmark is only as good as these."""

import math

import numpy as np
import pytest

from benchmarks import m4
from benchmarks.m4_scoring import (
    autocorrelation,
    interval_coverage,
    is_seasonal,
    mase,
    msis,
    naive2,
    owa,
    seasonal_indices,
    smape,
)
from benchmarks.reference_forecasts import seasonal_naive

Z95 = 1.959963984540054
FACTORS = np.array([0.5, 1.0, 1.5, 1.0])  # a multiplicative weekly-style cycle of length 4, mean 1


def test_smape_is_the_mean_of_200_abs_error_over_abs_actual_plus_abs_forecast():
    # 200*10/210 = 9.5238..., 200*20/380 = 10.5263...
    assert smape([100, 200], [110, 180]) == pytest.approx((2000 / 210 + 4000 / 380) / 2)
    assert smape([100, 200], [110, 180]) == pytest.approx(10.025062657)


def test_mase_divides_by_the_in_sample_mean_absolute_seasonal_difference():
    history = [1, 2, 4, 7]
    # m = 1: differences 1, 2, 3 -> scale 2; errors 1, 3 -> mean 2
    assert mase([8, 10], [7, 7], history, 1) == pytest.approx(1.0)
    # m = 2: differences 4-1 = 3, 7-2 = 5 -> scale 4
    assert mase([8, 10], [7, 7], history, 2) == pytest.approx(0.5)


def test_coverage_counts_actuals_inside_the_closed_interval():
    # 1 in [0, 2]; 2 below 2.5; 3 on both bounds of [3, 3]; 4 above 3
    assert interval_coverage([1, 2, 3, 4], [0, 2.5, 3, 0], [2, 3, 3, 3]) == 0.5


def test_msis_adds_2_over_alpha_times_each_miss_to_the_width_and_scales_like_mase():
    history = [1, 2, 4, 7]  # scale 2 with m = 1
    # inside: width 2; above by 2: width 4 + 40*2 = 84; below by 1: width 2 + 40*1 = 42
    expected = (2 + 84 + 42) / 3 / 2
    assert msis([5, 10, 0], [4, 4, 1], [6, 8, 3], history, 1, alpha=0.05) == pytest.approx(expected)
    assert expected == pytest.approx(21.3333333)


def test_owa_averages_the_two_ratios_to_naive2():
    assert owa(10.0, 1.5, 12.5, 2.0) == pytest.approx(0.5 * (0.8 + 0.75))
    assert owa(12.5, 2.0, 12.5, 2.0) == 1.0


def test_naive2_without_seasonality_is_the_last_value_with_the_naive_interval():
    history = [3.0, 5.0, 4.0]  # m = 1 (weekly): no seasonal test at all
    mean, lower, upper = naive2(history, 3, 1)
    np.testing.assert_allclose(mean, [4, 4, 4])
    sigma = math.sqrt((2**2 + 1**2) / 2)  # root mean square of the differences 2, -1
    half = Z95 * sigma * np.sqrt([1, 2, 3])
    np.testing.assert_allclose(lower, 4 - half)
    np.testing.assert_allclose(upper, 4 + half)


def test_the_seasonality_test_on_a_hand_computed_cycle():
    series = 100 * np.tile(FACTORS, 5)  # 20 points; deviations from the mean -0.5, 0, 0.5, 0 (x100)
    # sum of squares 5 * 0.5; lag 1 and 3 products all 0; lag 2: 18 pairs, 9 of them -0.25; lag 4: 8 of 16 are 0.25
    assert [autocorrelation(series, k) for k in (1, 2, 3, 4)] == pytest.approx([0.0, -0.9, 0.0, 0.8])
    limit = 1.645 * math.sqrt((1 + 2 * (0 + 0.81 + 0)) / 20)  # 0.5954
    assert 0.8 > limit
    assert is_seasonal(series, 4)
    assert not is_seasonal(series, 3)  # acf(3) = 0 is inside any limit
    assert not is_seasonal(series[:11], 4)  # shorter than 3 cycles: never tested
    assert not is_seasonal(series, 1)


def test_the_seasonality_test_stops_where_rs_acf_stops_at_lag_10_log10_n():
    """A clear daily cycle in hourly data: its acf(24) passes the limit at every length below, but R's
    ``acf`` (which M4 called) computes lags up to floor(10 log10 n) only: 23 for 240 points, 24 for 264."""
    cycle = 100 * np.linspace(0.6, 1.4, 24)
    assert not is_seasonal(np.tile(cycle, 10), 24)
    assert is_seasonal(np.tile(cycle, 11), 24)


def test_naive2_divides_out_the_seasonal_indices_and_continues_the_cycle_from_the_right_position():
    series = 100 * np.tile(FACTORS, 6)[:22]  # ends on the 2nd position of the cycle
    np.testing.assert_allclose(seasonal_indices(series, 4), FACTORS)
    mean, lower, upper = naive2(series, 6, 4)
    np.testing.assert_allclose(mean, 100 * FACTORS[[2, 3, 0, 1, 2, 3]])
    np.testing.assert_allclose(lower, mean)  # the adjusted series is constant: no spread
    np.testing.assert_allclose(upper, mean)
    # not seasonal at m = 3: the plain last value
    np.testing.assert_allclose(naive2(series, 3, 3)[0], [series[-1]] * 3)


def test_naive2_skips_the_adjustment_when_the_history_is_shorter_than_three_cycles():
    series = 100 * np.tile(FACTORS, 2)  # 8 points < 3 * 4
    np.testing.assert_allclose(naive2(series, 4, 4)[0], [series[-1]] * 4)


def test_seasonal_indices_and_autocorrelation_agree_with_statsmodels_on_a_noisy_trending_series():
    from statsmodels.tsa.seasonal import seasonal_decompose
    from statsmodels.tsa.stattools import acf

    rng = np.random.default_rng(3)
    t = np.arange(24 * 10)
    series = (200 + t) * np.tile(np.linspace(0.6, 1.4, 24), 10) * rng.uniform(0.9, 1.1, len(t))
    reference = seasonal_decompose(series, model="multiplicative", period=24).seasonal[:24]
    np.testing.assert_allclose(seasonal_indices(series, 24), reference, rtol=1e-10)
    ours = [autocorrelation(series, k) for k in range(1, 25)]
    np.testing.assert_allclose(ours, acf(series, nlags=24)[1:], rtol=1e-10)


def test_seasonal_naive_repeats_the_last_cycle():
    mean, lower, upper = seasonal_naive(np.arange(1.0, 9.0), 6, 4)
    np.testing.assert_allclose(mean, [5, 6, 7, 8, 5, 6])
    assert np.all(lower <= mean) and np.all(mean <= upper)


def test_the_shared_m4_files_load_as_the_datasets_readme_describes():
    weekly, hourly = m4.load(m4.WEEKLY), m4.load(m4.HOURLY)
    assert len(weekly) == 180 and weekly[0].key == "W1" and weekly[1].key == "W3"
    assert len(hourly) == 414 and hourly[0].key == "H1"
    assert {len(s.test) for s in weekly} == {13} and {len(s.test) for s in hourly} == {48}
    assert all(np.isfinite(s.train).all() for s in weekly + hourly)
    assert [s.key for s in m4.every_kth(weekly, 3)][:3] == ["W1", "W7", "W13"]


def test_naive2_on_the_whole_m4_hourly_set_reproduces_the_published_scores():
    """M4's published benchmarks for Hourly (414 series, h = 48, m = 24): Naive2 sMAPE 18.383, MASE 2.395;
    sNaive 13.912 / 1.193. Matching them checks the seasonality test, the decomposition and both measures."""
    hourly = m4.load(m4.HOURLY)
    scores = {"naive2": [], "seasonal_naive": []}
    for series in hourly:
        for name, forecast in (("naive2", naive2(series.train, 48, 24)[0]),
                               ("seasonal_naive", seasonal_naive(series.train, 48, 24)[0])):
            scores[name].append((smape(series.test, forecast), mase(series.test, forecast, series.train, 24)))
    assert np.mean(scores["naive2"], axis=0) == pytest.approx([18.383, 2.395], abs=5e-4)
    assert np.mean(scores["seasonal_naive"], axis=0) == pytest.approx([13.912, 1.193], abs=5e-4)


def test_the_accuracy_table_averages_over_series_first_then_takes_owa_against_naive2_of_the_same_set():
    from benchmarks.accuracy import ENSEMBLE, NAIVE2, summarize

    def row(dataset, series, model, smape_value, mase_value):
        return {"dataset": dataset, "series": series, "model": model, "smape": smape_value, "mase": mase_value,
                "coverage": 1.0, "msis": 1.0, "cpu": 0.5, "fallback": False}

    rows = [row("a", "s1", ENSEMBLE, 10, 1), row("a", "s2", ENSEMBLE, 20, 3),  # means 15, 2
            row("a", "s1", NAIVE2, 10, 1), row("a", "s2", NAIVE2, 40, 6),  # means 25, 3.5
            row("b", "s3", ENSEMBLE, 5, 1), row("b", "s3", NAIVE2, 10, 4)]
    summary = summarize(rows)
    # not the mean of per-series OWAs, which is (1.0 + 0.5) / 2 = 0.75
    assert summary.loc[("a", ENSEMBLE), "owa"] == pytest.approx(0.5 * (15 / 25 + 2 / 3.5))
    assert summary.loc[("b", ENSEMBLE), "owa"] == pytest.approx(0.5 * (5 / 10 + 1 / 4))
    assert summary.loc[("a", NAIVE2), "owa"] == 1.0
    assert list(summary.loc["a"].index) == [ENSEMBLE, NAIVE2]
