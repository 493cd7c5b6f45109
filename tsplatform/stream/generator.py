"""Synthetic sensor readings: baseline + daily sinusoid + uniform noise, with random spikes, spikes
on command, and a way back to normal. Pure and seeded: the timestamps are given by the caller
(a wall clock or a simulated one, see ``runner``), so the same seed and calls give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class SensorProfile:
    """One sensor's shape: ``baseline + amplitude·sin(2π·(minute_of_day + phase)/1440) + U(-noise, noise)``."""

    sensor_id: str
    baseline: float = 100.0
    amplitude: float = 10.0
    noise: float = 2.0
    phase_minutes: float = 0.0


def default_profiles(count: int = 3) -> list[SensorProfile]:
    """``sensor_1`` … ``sensor_N``; sensor_1 is 100 ± 10, each next one 10 higher and 2 wider."""
    if count < 1:
        raise ValueError("need at least one sensor")
    return [
        SensorProfile(f"sensor_{index + 1}", baseline=100.0 + 10.0 * index, amplitude=10.0 + 2.0 * index)
        for index in range(count)
    ]


class ReadingGenerator:
    """Readings for several sensors at given instants.

    Random spikes hit each reading with ``spike_probability`` and add ``±spike_size × U(1, 1.5)``.
    ``spike()`` queues a spike for a sensor's next reading (or, with ``hold=True``, offsets every
    reading until ``normal()``), which is what ``tsplatform stream spike`` drives.
    """

    def __init__(
        self,
        sensors: int | Sequence[SensorProfile] = 3,
        *,
        spike_probability: float = 0.005,
        spike_size: float = 25.0,
        seed: int | None = None,
    ) -> None:
        self.profiles = default_profiles(sensors) if isinstance(sensors, int) else list(sensors)
        ids = [profile.sensor_id for profile in self.profiles]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("sensor ids must be present and unique")
        if not 0.0 <= spike_probability <= 1.0:
            raise ValueError("spike_probability must be within [0, 1]")
        self.spike_probability = spike_probability
        self.spike_size = spike_size
        self._rng = np.random.default_rng(seed)
        self._queued: dict[str, list[float]] = {sensor: [] for sensor in ids}
        self._held: dict[str, float] = {}

    @property
    def sensor_ids(self) -> list[str]:
        return [profile.sensor_id for profile in self.profiles]

    def spike(self, sensor_id: str, size: float | None = None, *, hold: bool = False) -> None:
        """Spike ``sensor_id``'s next reading by ``size`` (default ``spike_size``), or hold it off until normal()."""
        self._check(sensor_id)
        size = self.spike_size if size is None else float(size)
        if hold:
            self._held[sensor_id] = size
        else:
            self._queued[sensor_id].append(size)

    def normal(self, sensor_id: str | None = None) -> None:
        """Drop queued and held spikes for one sensor, or for all."""
        for sensor in [sensor_id] if sensor_id is not None else self.sensor_ids:
            self._check(sensor)
            self._queued[sensor].clear()
            self._held.pop(sensor, None)

    def expected(self, times) -> np.ndarray:
        """The noiseless value of each sensor (columns) at each instant (rows)."""
        stamps = _utc_index(times)
        minute_of_day = ((stamps - stamps.normalize()) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)
        baseline = np.array([profile.baseline for profile in self.profiles])
        amplitude = np.array([profile.amplitude for profile in self.profiles])
        phase = np.array([profile.phase_minutes for profile in self.profiles])
        angle = 2.0 * np.pi * (minute_of_day[:, None] + phase[None, :]) / MINUTES_PER_DAY
        return baseline[None, :] + amplitude[None, :] * np.sin(angle)

    def readings_at(self, times) -> pd.DataFrame:
        """One reading per sensor per instant, instant-major.

        Columns: sensor_id, ts (UTC), value, expected (noiseless value), is_spike.
        """
        stamps = _utc_index(times)
        rows, width = len(stamps), len(self.profiles)
        expected = self.expected(stamps)
        noise_width = np.array([profile.noise for profile in self.profiles])
        noise = self._rng.uniform(-1.0, 1.0, size=(rows, width)) * noise_width[None, :]
        spiked = self._rng.random((rows, width)) < self.spike_probability
        signs = self._rng.choice([-1.0, 1.0], size=(rows, width))
        magnitudes = self._rng.uniform(1.0, 1.5, size=(rows, width)) * self.spike_size
        offsets = np.where(spiked, signs * magnitudes, 0.0)
        if rows:
            self._apply_commands(offsets, spiked)
        return pd.DataFrame(
            {
                "sensor_id": np.tile(np.array(self.sensor_ids, dtype=object), rows),
                "ts": np.repeat(stamps, width),
                "value": (expected + noise + offsets).ravel(),
                "expected": expected.ravel(),
                "is_spike": spiked.ravel(),
            }
        )

    def simulate(self, start, periods: int, step: str | pd.Timedelta = "1min") -> pd.DataFrame:
        """``readings_at`` a regular grid of ``periods`` instants from ``start``."""
        return self.readings_at(pd.date_range(pd.Timestamp(start), periods=periods, freq=pd.Timedelta(step)))

    def _apply_commands(self, offsets: np.ndarray, spiked: np.ndarray) -> None:
        for column, sensor in enumerate(self.sensor_ids):
            if sensor in self._held:
                offsets[:, column] = self._held[sensor]
                spiked[:, column] = True
            queued = self._queued[sensor]
            if queued:
                offsets[0, column] = self._held.get(sensor, 0.0) + queued.pop(0)
                spiked[0, column] = True

    def _check(self, sensor_id: str) -> None:
        if sensor_id not in self._queued:
            raise KeyError(f"unknown sensor {sensor_id!r}; known: {', '.join(self.sensor_ids)}")


def _utc_index(times) -> pd.DatetimeIndex:
    stamps = pd.DatetimeIndex(times if not isinstance(times, pd.Timestamp) else [times])
    return stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
