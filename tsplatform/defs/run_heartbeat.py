"""A run's heartbeat: the process executing it tags the run with its pid, host and the time, again
every few seconds, so the sensors can tell a run whose worker died (see ``run_workers``).

Dagster's run monitoring cannot check the workers of the default run launcher (it does not support
worker health checks), so a run whose worker was killed stays STARTED for ever. The heartbeat
starts where the run starts executing, in its orchestrating process, before any step waits for a
``warehouse_writer`` pool slot: ``with_heartbeat`` wraps an executor definition (the default
executor of the code location and the stream jobs' in-process executor). ``tsplatform ingest``,
which executes runs in its own process, beats with ``Heartbeat`` itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import dagster as dg

PID_TAG = "tsplatform/worker_pid"
HOST_TAG = "tsplatform/worker_host"
HEARTBEAT_TAG = "tsplatform/heartbeat"  # unix seconds of the last beat
HEARTBEAT_SECONDS = 5.0

_log = logging.getLogger(__name__)


def worker_tags() -> dict[str, str]:
    """This process as a run's worker, beating now."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), HEARTBEAT_TAG: f"{time.time():.0f}"}


class Heartbeat:
    """Tags run ``run_id`` with ``worker_tags()`` on entry and every ``every`` seconds until exit,
    from a daemon thread (it dies with the process, which is the point). A failed beat is logged
    and tried again at the next one: the run itself never fails because of its heartbeat."""

    def __init__(
        self, instance: dg.DagsterInstance, run_id: str, every: float = HEARTBEAT_SECONDS, beat_on_entry: bool = True
    ):
        self.instance, self.run_id, self.every, self.beat_on_entry = instance, run_id, every, beat_on_entry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name=f"heartbeat-{run_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.beat_on_entry:  # off when the run is about to be created with worker_tags() itself
            self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def beat(self) -> None:
        try:
            self.instance.add_run_tags(self.run_id, worker_tags())
        except Exception as problem:  # noqa: BLE001 - storage busy or the run not created yet: next beat
            _log.warning("heartbeat of run %s not recorded: %s", self.run_id, problem)

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()


class _BeatingExecutor(dg.Executor):
    """Runs the wrapped executor's orchestration inside a ``Heartbeat`` of the run."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    def execute(self, plan_context, execution_plan):
        with Heartbeat(plan_context.instance, plan_context.run_id):
            yield from self._inner.execute(plan_context, execution_plan)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def __getattr__(self, name):
        # what an executor's own execution loop reads from ``plan_context.executor`` beyond the
        # Executor interface (the Celery executor's ``app_args()``) comes from the wrapped one
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


def with_heartbeat(executor_def: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """``executor_def`` (same name, config and requirements) whose runs beat while they execute."""
    create = executor_def.executor_creation_fn
    assert create is not None, f"{executor_def.name} has no creation function"

    return dg.ExecutorDefinition(
        name=executor_def.name,
        config_schema=executor_def.config_schema,  # type: ignore[arg-type]  # the wrapped executor's own schema
        requirements=executor_def.get_requirements,
        executor_creation_fn=lambda init_context: _BeatingExecutor(create(init_context)),
        description=f"{executor_def.description or executor_def.name} The run tags itself with a heartbeat.",
    )


multiprocess_executor_with_heartbeat = with_heartbeat(dg.multiprocess_executor)
in_process_executor_with_heartbeat = with_heartbeat(dg.in_process_executor)
