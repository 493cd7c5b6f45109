"""The benchmark suite still runs: ``python -m benchmarks --quick`` (toy sizes, nothing about speed)."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
CASES = ["1 ingest", "2 correction", "1c ingest as run", "1c ingest as run: scaling", "3 forecast", "4 stream",
         "4b stream on NATS", "5 orchestration", "6 scaling", "8 cli reads", "10 celery"]


@pytest.mark.slow
def test_quick_benchmark_suite_runs_and_prints_every_case():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=PROJECT, capture_output=True, text=True, timeout=900, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:] + completed.stdout[-4000:]
    table = completed.stdout
    for case in CASES:
        assert any(line.startswith(case) for line in table.splitlines()), f"{case} missing from:\n{table}"
    assert "CRASHED" not in table
    assert "peak memory" in table and "cpu:" in table
