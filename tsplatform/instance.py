"""The Dagster instance the CLI records its runs in: ``$DAGSTER_HOME``, or ``./.dagster_home``.

The project's ``dagster.yaml`` is linked into a new home so the CLI, ``dagster dev`` and the daemon
all read the same instance configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from filelock import FileLock

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def ensure_dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    project_config = PROJECT_ROOT / "dagster.yaml"
    if not config.exists() and not config.is_symlink() and project_config.exists():
        config.symlink_to(project_config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def open_instance() -> dg.DagsterInstance:
    """The persistent instance. Creating its SQLite tables is not safe from several processes at
    once (two ``tsplatform ingest`` on a fresh home), so the first open is serialised."""
    home = ensure_dagster_home()
    with FileLock(str(home / ".instance-init.lock"), timeout=120):
        return dg.DagsterInstance.get()
