"""Registration when the database write fails: the file stays in landing, nothing is lost.

A file may sit in ``uploads/``, ``duplicates/`` or ``quarantine/`` only with its ``upload_metadata``
row. The insert is made to fail for real: a unique index on ``original_filename`` (created in the
test's private schema / DuckDB file) rejects a second row for a name already recorded.
"""

import json

import pytest

from tsplatform.ingest.options import sidecar_path
from tsplatform.ingest.registration import register_landed_files
from tsplatform.warehouse import backend_for
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land

FIRST = csv_text("2024-01-01,p1,A,1")
OTHER = csv_text("2024-01-02,p1,A,2")


def rows(warehouse):
    with warehouse.transaction() as session:
        return upload_table.list_uploads(session)


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def land_again(data_paths, kind: str, outside) -> None:
    """A second entry named a.csv: the same content, new content with options, or a symlink."""
    if kind == "duplicate":
        land(data_paths, "a.csv", FIRST)
    elif kind == "new":
        file = land(data_paths, "a.csv", OTHER)
        sidecar_path(file).write_text(json.dumps({"delimiter": ","}))
    else:
        target = outside / "elsewhere.csv"
        target.write_text(OTHER)
        (data_paths.landing / "a.csv").symlink_to(target)


FOLDER = {"duplicate": "duplicates", "new": "uploads", "symlink": "quarantine"}
STATUS = {"duplicate": "duplicate", "new": "uploaded", "symlink": "failed"}


@pytest.mark.parametrize("kind", ["duplicate", "new", "symlink"])
def test_a_file_whose_row_cannot_be_written_stays_in_landing_until_it_can(data_paths, warehouse, kind, tmp_path):
    land(data_paths, "a.csv", FIRST)
    register_landed_files(data_paths, warehouse, settle_seconds=0)
    folder = data_paths.root / FOLDER[kind]
    before = files_in(folder)
    with warehouse.transaction() as session:
        session.execute("CREATE UNIQUE INDEX one_row_per_name ON upload_metadata (original_filename)")

    land_again(data_paths, kind, tmp_path)
    landed = files_in(data_paths.landing)
    with pytest.raises(Exception) as raised:
        register_landed_files(data_paths, warehouse, settle_seconds=0)
    assert type(raised.value).__name__ in ("UniqueViolation", "ConstraintException"), repr(raised.value)
    assert files_in(data_paths.landing) == landed  # the entry (and its options) back where it was
    assert files_in(folder) == before  # nothing moved without a row
    assert len(rows(warehouse)) == 1

    with warehouse.transaction() as session:  # the database works again
        session.execute("DROP INDEX one_row_per_name")
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)
    assert registration.status == STATUS[kind]
    assert files_in(data_paths.landing) == []
    recorded = rows(warehouse).set_index("batch_num").loc[registration.batch_num]
    assert recorded["status"] == STATUS[kind] and recorded["stored_filename"] == str(registration.stored_path)
    assert registration.stored_path.parent == folder and registration.stored_path.is_symlink() == (kind == "symlink")
    assert (registration.stored_path.read_text() == FIRST) if kind == "duplicate" else (registration.stored_path.read_text() == OTHER)
    if kind == "new":
        assert sidecar_path(registration.stored_path).exists()


def test_an_unreachable_database_leaves_landing_as_it_was(data_paths):
    land(data_paths, "a.csv", FIRST)
    unreachable = backend_for("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=3")
    with pytest.raises(Exception):  # noqa: B017  (whatever the driver raises: the point is what stays in landing)
        register_landed_files(data_paths, unreachable, settle_seconds=0)
    assert files_in(data_paths.landing) == ["a.csv"]
    assert files_in(data_paths.uploads) == files_in(data_paths.duplicates) == files_in(data_paths.rejected_files) == []
