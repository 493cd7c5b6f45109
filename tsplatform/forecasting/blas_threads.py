"""Run OpenBLAS single-threaded while fitting.

statsmodels' Kalman filter does thousands of tiny matrix products; with OpenBLAS' default
thread pool the threads spin and fight for the cores (measured here: 8x the CPU time for
the same SARIMAX grid on a busy 2-core machine), and in a process pool every worker
would multiply that. numpy and scipy each bundle their own OpenBLAS, so both are set.
This is what ``threadpoolctl`` does, reduced to OpenBLAS on Linux and with no dependency;
elsewhere it is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from pathlib import Path

_SYMBOL_PAIRS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
)
_controls_by_path: dict[str, tuple | None] = {}


def _openblas_controls() -> list[tuple]:
    """(getter, setter) for every OpenBLAS library loaded in this process."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    try:
        import numpy  # noqa: F401  (load both OpenBLAS copies before looking for them)
        import scipy.linalg  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line and ".so" in line}
    controls = []
    for path in sorted(paths):
        if path not in _controls_by_path:
            _controls_by_path[path] = _load_control(path)
        control = _controls_by_path[path]
        if control is not None:
            controls.append(control)
    return controls


def _load_control(path: str) -> tuple | None:
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return None
    for getter_name, setter_name in _SYMBOL_PAIRS:
        getter = getattr(library, getter_name, None)
        setter = getattr(library, setter_name, None)
        if getter is not None and setter is not None:
            return getter, setter
    return None


def set_single_threaded_blas() -> None:
    """For worker processes that only ever fit small models."""
    for _, setter in _openblas_controls():
        setter(1)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Single-threaded OpenBLAS inside the block; the caller's setting is restored after."""
    try:
        controls = _openblas_controls()
        previous = [getter() for getter, _ in controls]
        for _, setter in controls:
            setter(1)
    except Exception:  # pragma: no cover - never let a tuning knob break forecasting
        controls, previous = [], []
    try:
        yield
    finally:
        for (_, setter), threads in zip(controls, previous):
            setter(threads)
