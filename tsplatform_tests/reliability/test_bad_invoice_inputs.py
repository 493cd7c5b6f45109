"""Every corpus case through the real path (landing -> sensor logic -> Dagster run -> warehouse), on
DuckDB and on PostgreSQL:
the outcome is the expected one, the reason is where a person looks, and no byte is lost."""

import hashlib
import json
import os
import time

import pytest

from tsplatform.definitions import defs
from tsplatform.ingest.options import UploadOptions, sidecar_path
from tsplatform.local_runs import ingest_landing_now
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.reliability.bad_invoice_inputs import CASES, Case
from tsplatform_tests.reliability.conftest import OUTCOMES


def drop(case: Case, data_paths, tmp_path):
    if case.options:
        sidecar_path(data_paths.landing / case.filename).write_text(UploadOptions(**case.options).validated().to_json())
    if case.symlink:
        outside = tmp_path / "outside.csv"
        outside.write_bytes(case.content)
        os.symlink(outside, data_paths.landing / case.filename)
        return outside
    path = data_paths.landing / case.filename
    path.write_bytes(case.content)
    if not case.fresh:
        past = time.time() - 60
        os.utime(path, (past, past))
        if case.options:
            os.utime(sidecar_path(path), (past, past))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, data_paths, tmp_path, instance, warehouse, warehouse_url):
    original = drop(case, data_paths, tmp_path)
    digest = hashlib.sha256(case.content).hexdigest()
    if case.fresh:  # the sensor's look: a file modified this instant may still be being written
        from tsplatform.ingest.registration import look_at_landing

        look_at_landing(data_paths, warehouse)
    else:
        ingest_landing_now(instance, defs(), data_paths, warehouse)
    with warehouse.transaction() as session:
        uploads = upload_table.list_uploads(session)
        invoices = invoice_table.read_invoices(session)
        rejected = invoice_table.read_rejected_rows(session)

    backend = warehouse_url.split(":", 1)[0]
    outcome = {"case": f"{case.name} [{backend}]", "as_expected": False, "bytes_lost": len(case.content)}
    OUTCOMES.append(outcome)
    if case.status == "ignored":
        assert uploads.empty
        assert original.read_bytes() == case.content  # untouched in landing
    else:
        [upload] = uploads.to_dict("records")
        assert upload["status"] == case.status, upload["error_log"]
        stored = os.readlink(upload["stored_filename"]) if case.symlink else upload["stored_filename"]
        kept = open(stored, "rb").read()
        assert hashlib.sha256(kept).hexdigest() == digest, "the stored file differs from the upload"
        assert upload["original_filename"] == case.filename
        if case.status == "failed":
            assert case.message in (upload["error_log"] or "")
            assert invoices.empty and rejected.empty
        else:
            assert upload["num_rejected_rows"] == case.rejected == len(rejected)
            assert len(invoices) == case.stored
            if case.message:
                assert rejected["reason"].str.contains(case.message, regex=False).any(), rejected["reason"].tolist()
            accounted = sum(upload[k] for k in ("num_rejected_rows", "num_duplicate_key_rows", "num_inserted_rows",
                                                "num_updated_rows", "num_unchanged_rows"))
            assert accounted == upload["num_total_rows"]
    outcome.update(as_expected=True, bytes_lost=0)


def test_hostile_strings_are_stored_verbatim_and_exported_safely(data_paths, instance):
    from tsplatform.cli.output import neutralize_formulas
    from tsplatform.warehouse import open_warehouse

    names = ["1'); DROP TABLE invoice_data;--", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "Küche ☕"]
    rows = [f'2026-01-0{i + 1},p{i},"{name.replace(chr(34), chr(34) * 2)}",1' for i, name in enumerate(names)]
    (data_paths.landing / "hostile.csv").write_text("Date,product_id,category,sales\n" + "\n".join(rows) + "\n")
    past = time.time() - 60
    os.utime(data_paths.landing / "hostile.csv", (past, past))
    warehouse = open_warehouse(f"duckdb:///{data_paths.default_warehouse}")
    ingest_landing_now(instance, defs(), data_paths, warehouse)
    with warehouse.transaction() as session:
        stored = invoice_table.read_invoices(session)
    assert sorted(stored["category"]) == sorted(names)
    exported = neutralize_formulas(stored)
    assert "'=cmd|' /C calc'!A0" in exported["category"].tolist()
    assert json.loads(stored.to_json(orient="records"))  # JSON stays verbatim
