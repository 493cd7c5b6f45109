"""A completed batch's notes live in ``upload_metadata.notes``; its ``error_log`` stays empty.

Migration 5 moves the notes that older completed batches kept in ``error_log`` to ``notes``.
"""

from tsplatform.ingest.processing import process_batch
from tsplatform.ingest.registration import register_landed_files
from tsplatform.warehouse import backend_for, utc_now
from tsplatform.warehouse import uploads as upload_table
from tsplatform.warehouse.schema import MIGRATIONS, SCHEMA_MIGRATIONS_DDL
from tsplatform_tests.conftest import csv_text, land

NOTES_MIGRATION = 5


def test_a_completed_batch_keeps_its_notes_out_of_the_error_log(data_paths, warehouse):
    land(data_paths, "notes.csv", csv_text("2024-01-01,p1,A,1,EU", "2024-01-01,p2,A,,EU",
                                           header="Date,product_id,category,sales,Region"))
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)
    process_batch(warehouse, registration.batch_num)

    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, registration.batch_num)
        listed = upload_table.list_uploads(session)
    assert upload["status"] == "completed"
    assert upload["error_log"] is None
    assert "extra columns ignored: Region" in upload["notes"]
    assert "1 missing sales had no earlier value and were set to 0" in upload["notes"]
    assert "notes" in listed.columns  # what ``tsplatform uploads`` shows


def _migrate_before_notes(url: str):
    """A warehouse as it was before migration 5."""
    old = backend_for(url)
    with old.transaction() as session:
        session.execute(SCHEMA_MIGRATIONS_DDL)
        for migration in MIGRATIONS:
            if migration.version < NOTES_MIGRATION:
                for statement in migration.statements:
                    session.execute(statement)
                session.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.description, utc_now()),
                )
    return old


def test_the_migration_moves_notes_of_completed_batches_out_of_the_error_log(warehouse_url):
    old = _migrate_before_notes(warehouse_url)
    with old.transaction() as session:
        for batch, status, error_log in (
            ("done", "completed", "extra columns ignored: Region"),
            ("clean", "completed", None),
            ("broken", "failed", "required column(s) missing: category"),
        ):
            session.execute(
                "INSERT INTO upload_metadata (batch_num, original_filename, stored_filename, file_hash, file_size_bytes, "
                "uploaded_at, status, error_log) VALUES (?, 'f.csv', 'f.csv', 'h', 1, ?, ?, ?)",
                (batch, utc_now(), status, error_log),
            )

    assert NOTES_MIGRATION in old.migrate()

    with old.transaction() as session:
        after = upload_table.list_uploads(session).set_index("batch_num")
    assert after.loc["done", "notes"] == "extra columns ignored: Region"
    assert after.loc[["done", "clean"], "error_log"].isna().all() and after.loc[["clean", "broken"], "notes"].isna().all()
    assert after.loc["broken", "error_log"] == "required column(s) missing: category"
    assert after["timezone"].isna().all()
    assert old.migrate() == []
