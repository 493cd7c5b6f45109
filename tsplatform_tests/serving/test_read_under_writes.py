"""``tsplatform.read`` while another process writes the same DuckDB file: no read fails on the
writer's lock, and every read sees whole batches only.

The writer (``batch_writer``) uploads batches through the platform's write path for the whole
run; this process reads in a loop meanwhile. ``TSPLATFORM_TEST_READ_LOOP_SECONDS`` (60) sets how long.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from tsplatform import read
from tsplatform.warehouse import open_warehouse

from tsplatform_tests.serving.batch_writer import batch_size, index_of

LOOP_SECONDS = float(os.environ.get("TSPLATFORM_TEST_READ_LOOP_SECONDS", "60"))
PROJECT = Path(__file__).resolve().parents[2]


def test_reads_never_fail_and_see_whole_batches_while_another_process_writes(data_paths, caplog):
    caplog.set_level(logging.DEBUG, logger="tsplatform.read")
    open_warehouse(f"duckdb:///{data_paths.default_warehouse}")  # the file exists before the first read
    writer = subprocess.Popen(
        [sys.executable, "-m", "tsplatform_tests.serving.batch_writer", str(LOOP_SECONDS)],
        cwd=PROJECT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reads, errors, problems, seen_batches = 0, [], [], 0
    try:
        deadline = time.monotonic() + LOOP_SECONDS
        while time.monotonic() < deadline and writer.poll() is None:
            try:
                invoices = read.invoices()
                uploads = read.uploads()
                rejected = read.rejected_rows()
            except Exception as error:  # any failure counts: the point is that there is none
                errors.append(repr(error))
                continue
            reads += 3
            problems += _partial_batches(invoices, uploads, rejected)
            complete = invoices["category"].nunique()
            if complete < seen_batches:
                problems.append(f"batches went from {seen_batches} to {complete}")
            seen_batches = complete
            time.sleep(0.02)
        out, err = writer.communicate(timeout=LOOP_SECONDS + 60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 0, err[-3000:]
    committed = [json.loads(line) for line in out.splitlines()]
    waits = [r for r in caplog.records if "busy" in r.getMessage()]
    print(f"{reads} reads, {len(waits)} waits for the writer's lock, {len(committed)} batches written")  # -rP
    assert errors == []
    assert problems == []
    assert len(committed) >= 5 and reads >= 100
    assert waits, "no read ever met the writer's lock: the test did not test anything"
    final = read.invoices()
    assert final.groupby("category").size().to_dict() == {f"w{c['index']:04d}": c["rows"] for c in committed}


def _partial_batches(invoices, uploads, rejected) -> list[str]:
    """What a read could show of a batch that is not whole: fewer rows than the batch has, a
    completed upload without its counts, a batch's rejected rows without the one it has."""
    found = [
        f"{category}: {rows} of {batch_size(index_of(category))} rows"
        for category, rows in invoices.groupby("category").size().items()
        if rows != batch_size(index_of(category))
    ]
    for upload in uploads.itertuples():
        index = index_of(upload.original_filename.removesuffix(".csv"))
        if upload.status == "completed" and (upload.num_inserted_rows, upload.num_rejected_rows) != (batch_size(index), 1):
            found.append(f"{upload.batch_num}: completed with {upload.num_inserted_rows} inserted, {upload.num_rejected_rows} rejected")
    found += [f"{batch}: {n} rejected rows" for batch, n in rejected.groupby("batch_num").size().items() if n != 1]
    return found
