"""The metric functions against arithmetic done by hand."""

import math

import numpy as np
import pytest

from tsplatform.forecasting.metrics import interval_coverage, mase, mase_scale, smape


def test_smape_hand_checked():
    # terms: 2*|110-100|/(100+110) = 20/210 = 0.0952381
    #        2*|180-200|/(200+180) = 40/380 = 0.1052632
    #        actual 0 and forecast 0: a perfect forecast, term 0
    # mean = (0.0952381 + 0.1052632 + 0) / 3 = 0.0668338 -> 6.68338 %
    assert smape([100, 200, 0], [110, 180, 0]) == pytest.approx(6.68338, abs=1e-5)


def test_smape_bounds():
    assert smape([5, 5], [5, 5]) == 0
    # actual 0, forecast 3: 2*3/(0+3) = 2 -> the maximum, 200 %
    assert smape([0], [3]) == pytest.approx(200)
    assert math.isnan(smape([], []))


def test_mase_hand_checked():
    training = [1, 3, 2, 4, 3, 5, 4, 6]
    # seasonal naive with m = 2: y_t - y_{t-2} = 2-1, 4-3, 3-2, 5-4, 4-3, 6-5 = 1 each -> scale 1
    assert mase_scale(training, season_length=2) == pytest.approx(1.0)
    # errors |6-5| = 1 and |5-7| = 2 -> MAE 1.5 -> MASE 1.5 / 1
    assert mase([5, 7], [6, 5], training, season_length=2) == pytest.approx(1.5)
    # with m = 1 the scale is mean|2,-1,2,-1,2,-1,2| = 11/7, so MASE = 1.5 / (11/7) = 0.954545
    assert mase([5, 7], [6, 5], training, season_length=1) == pytest.approx(1.5 * 7 / 11)


def test_mase_scale_fallbacks():
    # seasonal differences all 0 (pattern repeats exactly), lag-1 differences are not:
    # |3-1|, |1-3|, |3-1| -> scale 2
    assert mase_scale([1, 3, 1, 3], season_length=2) == pytest.approx(2.0)
    # constant history: both naive scales are 0 -> mean |y| = 4; error |6-4| = 2 -> MASE 0.5
    assert mase_scale([4, 4, 4], season_length=1) == pytest.approx(4.0)
    assert mase([6], [4], [4, 4, 4]) == pytest.approx(0.5)
    # all zeros: the scale is 1, so MASE is the plain MAE
    assert mase([0, 3], [1, 1], [0, 0, 0]) == pytest.approx(1.5)
    # a season longer than the history falls back to lag 1: |2-1| -> 1
    assert mase_scale([1, 2], season_length=7) == pytest.approx(1.0)


def test_interval_coverage_hand_checked():
    # 1 in [0, 2] yes; 2 in [2, 3] yes (bounds count); 3 in [3.5, 4] no; 4 in [0, 3.9] no -> 2/4
    assert interval_coverage([1, 2, 3, 4], [0, 2, 3.5, 0], [2, 3, 4, 3.9]) == pytest.approx(0.5)
    assert math.isnan(interval_coverage([], [], []))
    with pytest.raises(ValueError):
        interval_coverage([1, 2], [0], [3])


def test_metrics_reject_mismatched_lengths():
    with pytest.raises(ValueError):
        smape([1, 2], [1])
    with pytest.raises(ValueError):
        mase(np.ones(3), np.ones(2), np.ones(5))
