"""Case 10: one forecast refresh on the local process pool against 1 and 2 Celery workers.

The same refresh (every category of one upload; full: 50 categories x 365 days) three times, each
in a fresh world (SQLite instance, PostgreSQL warehouse, data folder), always under a real
``dagster-daemon run`` whose ``forecast_refresh_sensor`` requests the runs:

* local: default mode, ONE run, the step's process pool over all cores;
* celery x1 / x2: ``TSPLATFORM_EXECUTOR=celery``, runs of 10 categories, each run's step a Celery task
  on the local RabbitMQ, executed by 1 or 2 ``dagster-celery`` workers (``--concurrency=1``, a step pool
  of 1 process: one worker stands for one machine's worth of parallelism, here one core).

Wall time = first forecast run created -> last one finished (run records; the daemon's own start is
not counted). CPU = the CPU time over that window of every process the case started and all their
descendants (daemon, code server, run workers, step processes and pools, Celery workers; the exited
ones with the last CPU time read while they lived), from /proc every 0.25 s; PostgreSQL's is not in it. The
machine's busy time (/proc/stat) is in the note: on a shared machine it includes other work.
Per-step overhead from the event log: queue wait (the run submits the
task -> a worker reports it is executing it), worker start of the step (-> STEP_START), and the run's
time outside its step (RUN_START -> RUN_SUCCESS minus the step). The instance allows 8 concurrent
runs and 4 warehouse writers (deploy/dagster.postgres.yaml's limits): DuckDB's writer pool of 1
would serialise the steps.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import Sizes, postgres_available, throwaway_postgres, work_folder
from benchmarks.report import Figure
from tsplatform.supervision import stop_groups

CASE = "10 celery"
PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BROKER = os.environ.get("TSPLATFORM_TEST_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
JOB = "category_forecast_job"
STEP = "category_forecasts"
PER_RUN = 10
INSTANCE_YAML = """
concurrency:
  runs:
    max_concurrent_runs: 8
  pools:
    default_limit: 4
    granularity: op
telemetry:
  enabled: false
"""


def run(sizes: Sizes) -> list[Figure]:
    categories, days = (8, 60) if sizes.quick else (50, 365)
    per_run = 2 if sizes.quick else PER_RUN
    problem = postgres_available() or _broker_problem()
    if problem:
        return [Figure(CASE, "celery scale-out: SKIPPED", None, note=problem)]
    modes = [("local pool", 0), ("celery x1", 1), ("celery x2", 2)]
    measured = {}
    for label, workers in modes:
        measured[label] = _refresh(categories, days, per_run, workers)
    return _figures(measured, categories, days, per_run)


def _broker_problem() -> str | None:
    import kombu

    try:
        with kombu.Connection(BROKER, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
        return None
    except Exception as error:  # noqa: BLE001 - no broker: the case is skipped
        return f"RabbitMQ not reachable at {BROKER}: {error}"


def _upload(categories: int, days: int) -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(10)
    lines = ["Date,product_id,category,sales"]
    for day in pd.date_range("2024-01-01", periods=days):
        for number in range(categories):
            level = 20 + number % 7 * 3 + 4 * np.sin(2 * np.pi * day.dayofweek / 7) + 2 * np.sin(2 * np.pi * day.dayofyear / 365)
            lines.append(f"{day:%Y-%m-%d},p{number},cat_{number:03d},{level + rng.uniform(0, 2):.2f}")
    return "\n".join(lines) + "\n"


def _prepare(root: Path, warehouse_url: str, categories: int, days: int) -> dict[str, str]:
    """A fresh world with the upload ingested and aggregated (in a child: the env is its own)."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    data = root / "data"
    (data / "landing").mkdir(parents=True)
    upload = data / "landing" / "sales.csv"
    upload.write_text(_upload(categories, days))
    past = time.time() - 60
    os.utime(upload, (past, past))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSPLATFORM_EXECUTOR", "TSPLATFORM_CELERY", "TSPLATFORM_FORECAST_"))}
    env.update({"DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(data), "TSPLATFORM_WAREHOUSE_URL": warehouse_url,
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))})
    subprocess.run([sys.executable, "-c", _PREPARE], cwd=PROJECT, env=env, check=True, capture_output=True, timeout=600)
    return env


_PREPARE = """
import dagster as dg
from tsplatform.definitions import defs
from tsplatform.defs.forecasts.assets import daily_category_sales
from tsplatform.local_runs import ingest_landing_now
from tsplatform.settings import data_paths, warehouse_url
from tsplatform.warehouse import open_warehouse
with dg.DagsterInstance.get() as instance:
    d = defs()
    report = ingest_landing_now(instance, d, data_paths(), open_warehouse(warehouse_url()))
    assert report.run_ids and all(instance.get_run_by_id(r).is_success for r in report.run_ids.values())
    assert dg.materialize([daily_category_sales], instance=instance, resources=d.resources).success
"""


class _TreeCpu:
    """CPU seconds of ``roots`` and all their descendants, ever seen: each process (pid + start
    time) counts with the last utime + stime read while it lived, so processes that exit (run
    workers, step processes, pool workers, whoever reaps them) keep their share. Sampled often,
    it misses at most the last sampling interval of each process's life."""

    def __init__(self):
        self.seen: dict[tuple[int, str], float] = {}

    def sample(self, roots: list[int]) -> float:
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    text = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                fields = text[text.rindex(")") + 2 :].split()
                stats[int(entry.name)] = (int(fields[1]), fields[19], int(fields[11]) + int(fields[12]))
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        todo = [pid for pid in roots if pid in stats]
        while todo:
            pid = todo.pop()
            _, started, ticks = stats[pid]
            self.seen[(pid, started)] = ticks / os.sysconf("SC_CLK_TCK")
            todo += children.get(pid, [])
        return sum(self.seen.values())


def _busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _refresh(categories: int, days: int, per_run: int, workers: int) -> dict:
    import dagster as dg

    root = Path(tempfile.mkdtemp(prefix="celery-bench-", dir=work_folder()))
    processes: list[subprocess.Popen] = []
    queue = f"tsplatform-bench-{uuid.uuid4().hex[:10]}"
    try:
        with throwaway_postgres() as warehouse_url:
            env = _prepare(root, warehouse_url, categories, days)
            expected = 1
            if workers:
                env.update({"TSPLATFORM_EXECUTOR": "celery", "TSPLATFORM_CELERY_BROKER": BROKER,
                            "TSPLATFORM_CELERY_QUEUE": queue, "TSPLATFORM_FORECAST_CATEGORIES_PER_RUN": str(per_run)})
                expected = -(-categories // per_run)
            logs = root / "logs"
            logs.mkdir()

            def start(name: str, command: list[str]) -> None:
                processes.append(subprocess.Popen(command, cwd=PROJECT, env=env, start_new_session=True,
                                                  stdout=(logs / f"{name}.log").open("wb"), stderr=subprocess.STDOUT))

            for number in range(1, workers + 1):
                start(f"worker{number}", [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                                          "-y", str(PROJECT / "deploy" / "celery.yaml"), "-q", queue, "-n", f"bench{number}-{queue}",
                                          "--loglevel", "WARNING", "--", "--concurrency=1"])
            start("daemon", [str(BIN / "dagster-daemon"), "run", "--workspace", str(PROJECT / "workspace.yaml")])
            instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
            busy = []  # (unix time, machine busy seconds, CPU seconds of the case's processes), sampled while waiting
            tree = _TreeCpu()
            deadline = time.monotonic() + 1200
            while True:
                busy.append((time.time(), _busy_seconds(), tree.sample([p.pid for p in processes])))
                records = instance.get_run_records(dg.RunsFilter(job_name=JOB))
                if len(records) >= expected and all(r.dagster_run.is_finished for r in records):
                    break
                assert time.monotonic() < deadline, "the refresh did not finish in 20 minutes"
                assert all(p.poll() is None for p in processes), f"a process exited; logs in {logs}"
                time.sleep(0.25)
            failed = [r.dagster_run.run_id for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
            assert not failed, f"failed runs {failed}; logs in {logs}"
            return _measure(instance, records, busy)
    finally:
        stop_groups(processes, 30)
        if workers:
            _delete_queue(queue)
        shutil.rmtree(root, ignore_errors=True)


def _delete_queue(queue: str) -> None:
    import kombu

    try:
        with kombu.Connection(BROKER, connect_timeout=5) as connection:
            connection.channel().queue_delete(queue)
    except Exception:  # noqa: BLE001 - nothing to clean then
        pass


def _measure(instance, records, busy) -> dict:
    import dagster as dg

    first = min(r.create_timestamp.timestamp() for r in records)
    last = max(r.end_time for r in records)

    def sample_at(moment: float) -> tuple[float, float, float]:
        return min(busy, key=lambda sample: abs(sample[0] - moment))

    queue_wait, step_setup, step_seconds, outside_step, run_latency = [], [], [], [], []
    workers_seen = set()
    for record in records:
        run = record.dagster_run
        times: dict[str, float] = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind = event.event_type
            if kind == dg.DagsterEventType.ENGINE_EVENT and event.step_key == STEP:
                data = event.engine_event_data
                if data.marker_start == "celery_queue_wait":
                    times["submitted"] = entry.timestamp
                elif "Celery worker" in data.metadata:
                    times["picked_up"] = entry.timestamp
                    workers_seen.add(data.metadata["Celery worker"].value)
            elif kind == dg.DagsterEventType.STEP_START:
                times["step_start"] = entry.timestamp
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                times["step_end"] = entry.timestamp
            elif kind == dg.DagsterEventType.RUN_START:
                times["run_start"] = entry.timestamp
            elif kind == dg.DagsterEventType.RUN_SUCCESS:
                times["run_end"] = entry.timestamp
        if "submitted" in times and "picked_up" in times:
            queue_wait.append(times["picked_up"] - times["submitted"])
            step_setup.append(times["step_start"] - times["picked_up"])
        step_seconds.append(times["step_end"] - times["step_start"])
        outside_step.append((times["run_end"] - times["run_start"]) - step_seconds[-1])
        run_latency.append(times["run_start"] - record.create_timestamp.timestamp())
    return {
        "runs": len(records), "wall": last - first, "cpu": sample_at(last)[2] - sample_at(first)[2],
        "machine_busy": sample_at(last)[1] - sample_at(first)[1],
        "queue_wait": statistics.median(queue_wait) if queue_wait else None,
        "step_setup": statistics.median(step_setup) if step_setup else None,
        "step_seconds": sum(step_seconds), "outside_step": statistics.median(outside_step),
        "run_latency": statistics.median(run_latency), "workers_seen": len(workers_seen),
    }


def _figures(measured: dict, categories: int, days: int, per_run: int) -> list[Figure]:
    local = measured["local pool"]
    size = f"{categories} categories x {days} days"
    figures = []
    for label, m in measured.items():
        shape = ("1 run, the step's pool over all cores" if label == "local pool"
                 else f"{m['runs']} runs of <= {per_run}, {m['workers_seen']} worker(s) took steps")
        figures.append(Figure(CASE, f"refresh wall time, {label}", m["wall"], "s",
                              baseline=local["wall"] if label != "local pool" else None,
                              baseline_label="local pool" if label != "local pool" else "",
                              ratio=local["wall"] / m["wall"] if label != "local pool" else None,
                              note=f"{size}; {shape}; first run created -> last run finished",
                              extra=m))
        figures.append(Figure(CASE, f"  CPU of the refresh's processes, {label}", m["cpu"], "s",
                              note=f"daemon, code server, run workers, steps, Celery workers (/proc); the whole machine was "
                                   f"busy {m['machine_busy']:.0f} s over the same window"))
        figures.append(Figure(CASE, f"  sum of forecast step times, {label}", m["step_seconds"], "s",
                              note="STEP_START -> STEP_SUCCESS, summed over the runs"))
        figures.append(Figure(CASE, f"  per run: created -> RUN_START (queue + launch), {label}", m["run_latency"], "s",
                              note="median over the runs"))
        figures.append(Figure(CASE, f"  per run: time outside its step, {label}", m["outside_step"], "s",
                              note="RUN_START -> RUN_SUCCESS minus the step; median"))
        if m["queue_wait"] is not None:
            figures.append(Figure(CASE, f"  per step: Celery queue wait, {label}", m["queue_wait"], "s",
                                  note="task submitted -> a worker executes it (includes waiting for a free worker); median"))
            figures.append(Figure(CASE, f"  per step: worker picks up -> STEP_START, {label}", m["step_setup"], "s",
                                  note="plan and resources in the worker; median"))
    return figures
