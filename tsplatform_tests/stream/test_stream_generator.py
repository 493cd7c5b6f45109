import numpy as np
import pandas as pd
import pytest

from tsplatform.stream import ReadingGenerator, SensorProfile, default_profiles


def month_of_readings(spike_probability=0.02, seed=7):
    generator = ReadingGenerator(3, spike_probability=spike_probability, seed=seed)
    return generator, generator.simulate("2024-03-01", periods=30 * 144, step="10min")


def test_default_profiles_match_the_documented_shape():
    first, second, third = default_profiles(3)
    assert (first.sensor_id, first.baseline, first.amplitude, first.noise) == ("sensor_1", 100.0, 10.0, 2.0)
    assert second.baseline != first.baseline and third.amplitude != first.amplitude


def test_values_centre_on_the_baseline_with_a_daily_cycle_of_the_given_amplitude():
    generator, readings = month_of_readings()
    for profile in generator.profiles:
        rows = readings[(readings.sensor_id == profile.sensor_id) & ~readings.is_spike]
        assert rows.value.mean() == pytest.approx(profile.baseline, abs=0.3)
        minute = rows.ts.dt.hour * 60 + rows.ts.dt.minute
        angle = 2 * np.pi * minute.to_numpy() / 1440
        design = np.column_stack([np.ones(len(rows)), np.sin(angle), np.cos(angle)])
        (level, sine, cosine), *_ = np.linalg.lstsq(design, rows.value.to_numpy(), rcond=None)
        assert np.hypot(sine, cosine) == pytest.approx(profile.amplitude, abs=0.2)
        assert cosine == pytest.approx(0.0, abs=0.2)  # phase 0: a pure sine of the minute of day


def test_noise_stays_within_its_uniform_range():
    generator, readings = month_of_readings()
    calm = readings[~readings.is_spike]
    noise = calm.value - calm.expected
    assert noise.abs().max() <= 2.0
    assert noise.std() == pytest.approx(2.0 / np.sqrt(3), rel=0.05)  # uniform(-2, 2)
    assert noise.abs().max() > 1.9  # it does use the whole range


def test_spike_rate_is_near_the_configured_probability_and_spikes_stand_out():
    generator, readings = month_of_readings(spike_probability=0.02)
    rate = readings.is_spike.mean()
    standard_error = np.sqrt(0.02 * 0.98 / len(readings))
    assert abs(rate - 0.02) < 4 * standard_error
    spikes = readings[readings.is_spike]
    assert ((spikes.value - spikes.expected).abs() >= generator.spike_size - 2.0).all()
    assert (spikes.value > spikes.expected).any() and (spikes.value < spikes.expected).any()


def test_same_seed_gives_the_same_readings():
    first = ReadingGenerator(3, seed=11, spike_probability=0.05).simulate("2024-01-01", 200, "1min")
    again = ReadingGenerator(3, seed=11, spike_probability=0.05).simulate("2024-01-01", 200, "1min")
    other = ReadingGenerator(3, seed=12, spike_probability=0.05).simulate("2024-01-01", 200, "1min")
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first.value, other.value)


def test_spike_on_command_hits_only_the_next_reading():
    generator = ReadingGenerator(3, spike_probability=0.0, seed=1)
    generator.spike("sensor_2", 60.0)
    first = generator.readings_at(pd.Timestamp("2024-01-01T00:00Z")).set_index("sensor_id")
    second = generator.readings_at(pd.Timestamp("2024-01-01T00:01Z")).set_index("sensor_id")
    assert first.loc["sensor_2", "value"] - first.loc["sensor_2", "expected"] == pytest.approx(60.0, abs=2.0)
    assert first.loc["sensor_2", "is_spike"] and not first.loc["sensor_1", "is_spike"]
    assert not second.is_spike.any()


def test_held_spike_lasts_until_normal():
    generator = ReadingGenerator(2, spike_probability=0.0, seed=1)
    generator.spike("sensor_1", -40.0, hold=True)
    held = generator.simulate("2024-01-01", 5, "1min")
    offsets = (held.value - held.expected)[held.sensor_id == "sensor_1"]
    assert (offsets.between(-42, -38)).all()
    generator.normal()
    calm = generator.simulate("2024-01-01T00:05", 5, "1min")
    assert not calm.is_spike.any() and (calm.value - calm.expected).abs().max() <= 2.0


def test_unknown_sensor_and_bad_settings_are_refused():
    generator = ReadingGenerator(2)
    with pytest.raises(KeyError):
        generator.spike("sensor_9")
    with pytest.raises(ValueError):
        ReadingGenerator(2, spike_probability=1.5)
    with pytest.raises(ValueError):
        ReadingGenerator([SensorProfile("a"), SensorProfile("a")])


def test_custom_profiles_and_naive_times_are_utc():
    generator = ReadingGenerator([SensorProfile("boiler", baseline=50, amplitude=0, noise=0)], spike_probability=0)
    readings = generator.readings_at(pd.DatetimeIndex(["2024-01-01 06:00"]))
    assert readings.ts.dt.tz is not None and str(readings.ts.dt.tz) == "UTC"
    assert readings.value.tolist() == [50.0]
