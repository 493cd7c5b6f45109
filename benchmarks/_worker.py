"""One benchmark job in its own process: ``python -m benchmarks._worker JOB [--quick] --result FILE``.

The runner (``python -m benchmarks``) starts one per job and reads the figures from FILE; running
apart gives each job a clean interpreter and its own peak-memory reading.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from benchmarks import common, report


def _jobs():
    from benchmarks import (
        accuracy,
        alarms,
        celery_scaling,
        cli_reads,
        forecast,
        ingest,
        ingest_cli,
        orchestration,
        scaling,
        stream,
        stream_nats,
    )

    return {
        "prepare-ingest": lambda sizes: (ingest.prepare(sizes), [])[1],
        "ingest-duckdb": lambda sizes: ingest.run(sizes, "duckdb"),
        "ingest-postgres": lambda sizes: ingest.run(sizes, "postgres"),
        "ingest-cli-duckdb": lambda sizes: ingest_cli.run(sizes, "duckdb"),
        "ingest-cli-postgres": lambda sizes: ingest_cli.run(sizes, "postgres"),
        "ingest-cli-scaling": ingest_cli.run_scaling,
        "forecast": forecast.run,
        "stream": stream.run,
        "stream-nats": stream_nats.run,
        "orchestration": orchestration.run,
        "scaling": scaling.run,
        "accuracy": accuracy.run,
        "cli-reads": cli_reads.run,
        "alarms": alarms.run,
        "celery": celery_scaling.run,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("job")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    figures = _jobs()[args.job](common.sizes(args.quick))
    args.result.write_text(report.dump(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
