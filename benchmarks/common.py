"""Shared pieces of the benchmark cases: sizes, generated data, throwaway warehouses, timers.

A case runs in its own process (``python -m benchmarks._worker CASE``) and returns ``Figure`` rows;
the runner measures that process's peak memory. Heavy imports stay inside functions.
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Figure  # noqa: F401  (re-exported for the case modules)

POSTGRES_URL = os.environ.get("TSPLATFORM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Sizes:
    """Every size the suite uses: the defaults are the full run; ``--quick`` (``QUICK``) shrinks them
    all so CI runs it in about a minute."""

    quick: bool = False
    ingest_products_per_category: int = 200  # x 10 categories x ingest_days rows
    ingest_days: int = 500
    messy_rows: int = 300
    baseline_rows: int = 20_000
    ingest_rounds: int = 3  # first load + correction, each round on a fresh warehouse; the median is reported
    forecast_categories: int = 50
    forecast_days: int = 730
    reference_categories: int = 4  # categories fitted by the classic fixed-order reference
    scaling_ingest_rows: tuple[int, ...] = (10_000, 100_000, 300_000, 1_000_000)
    scaling_forecast_categories: tuple[int, ...] = (5, 10, 20, 40)
    scaling_forecast_days: int = 365
    orchestration_repeats: int = 3

    @property
    def ingest_rows(self) -> int:
        return 10 * self.ingest_products_per_category * self.ingest_days


FULL = Sizes()
QUICK = Sizes(
    quick=True,
    ingest_products_per_category=20,
    ingest_days=100,
    messy_rows=30,
    baseline_rows=500,
    ingest_rounds=1,
    forecast_categories=2,
    forecast_days=90,
    reference_categories=1,
    scaling_ingest_rows=(2_000, 5_000, 10_000, 20_000),
    scaling_forecast_categories=(1, 2),
    scaling_forecast_days=60,
    orchestration_repeats=1,
)


def sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Stopwatch:
    """Wall and CPU time of this process and everything it started: waited-for children (cmdstan)
    from ``getrusage``, plus live children read from /proc with what they reaped (a forkserver
    and the pool workers it forked and reaped never reach ``getrusage`` of this process)."""

    def __enter__(self) -> Stopwatch:
        self._live = _live_children_cpu()
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        _wait_for_grandchildren_reaped()
        live = _live_children_cpu()
        self.cpu = _cpu_seconds() - self._cpu + sum(seconds - self._live.get(pid, 0.0) for pid, seconds in live.items())


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _proc_stats() -> Iterator[tuple[int, int, list[str]]]:
    """(pid, parent pid, fields after the command name) of every process in /proc."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        yield int(entry.name), int(fields[1]), fields


def _live_children_cpu() -> dict[int, float]:
    """CPU seconds (utime + stime + reaped children's) of each live child of this process."""
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK")
    return {pid: sum(int(v) for v in fields[11:15]) / tick for pid, parent, fields in _proc_stats() if parent == me}


def _wait_for_grandchildren_reaped(timeout: float = 5.0) -> None:
    """A forkserver reaps the workers it forked shortly after they exit: wait until it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = set(_live_children_cpu())
        if not any(parent in children for _, parent, _ in _proc_stats()):
            return
        time.sleep(0.05)


# --- data ------------------------------------------------------------------------------------------


def sales_csv(folder: Path, products_per_category: int, days: int, messy_rows: int, name: str = "sales.csv") -> Path:
    """A generated upload: 10 categories, ``products_per_category`` products each, ``days`` days,
    1% missing sales, ``messy_rows`` bad or repeated lines. Cached by size in ``folder``."""
    path = folder / f"{Path(name).stem}_{products_per_category}x{days}_{messy_rows}.csv"
    if not path.exists():
        from tsplatform.sample_data import SalesSpec, generate_sales

        spec = SalesSpec(categories=10, products_per_category=products_per_category, days=days, missing_rate=0.01,
                         messy_rows=messy_rows)
        temporary = path.with_suffix(".tmp")
        generate_sales(spec).to_csv(temporary, index=False)
        temporary.replace(path)
    return path


def corrected_copy(original: Path, share: float = 0.10, seed: int = 11) -> tuple[Path, int]:
    """The same upload with ``share`` of its numeric sales changed; returns (path, rows changed)."""
    import numpy as np
    import pandas as pd

    target = original.with_name(original.stem + "_corrected.csv")
    frame = pd.read_csv(original, dtype=str, keep_default_na=False)
    sales = pd.to_numeric(frame["sales"], errors="coerce")
    candidates = np.flatnonzero(sales.notna().to_numpy() & (sales >= 0).to_numpy())
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=int(len(frame) * share), replace=False)
    frame.loc[chosen, "sales"] = (sales.iloc[chosen] + 1.25).round(2).map(repr).to_numpy()
    frame.to_csv(target, index=False)
    return target, len(chosen)


def head_of_csv(source: Path, rows: int, target: Path) -> Path:
    """The header and first ``rows`` data lines of ``source`` (the generated files are plain)."""
    with source.open("rb") as reading, target.open("wb") as writing:
        for number, line in enumerate(reading):
            if number > rows:
                break
            writing.write(line)
    return target


def work_folder() -> Path:
    """Where generated inputs are cached between the cases of one run (the runner sets it)."""
    folder = Path(os.environ.get("TSPLATFORM_BENCH_DIR") or tempfile.mkdtemp(prefix="tsplatform-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- warehouses ------------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database on the test server, dropped afterwards; yields its URL."""
    import psycopg

    name = f"tsplatform_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = POSTGRES_URL.partition("?")
    url = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> str | None:
    """None if the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=5):
            return None
    except Exception as error:  # noqa: BLE001 - any failure means "skip the PostgreSQL figures"
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {error}"


def isolated_environment(root: Path, warehouse_url: str | None = None) -> None:
    """Point the platform at ``root`` (data folder, Dagster home) and optionally a warehouse."""
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    os.environ["TSPLATFORM_DATA_DIR"] = str(root / "data")
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    if warehouse_url:
        os.environ["TSPLATFORM_WAREHOUSE_URL"] = warehouse_url
    else:
        os.environ.pop("TSPLATFORM_WAREHOUSE_URL", None)
