"""The ``tsplatform`` group loads a command's module only when it runs: every listed command loads
under its own name, and ``tsplatform upload`` runs without the libraries of the other commands."""

import os
import subprocess
import sys

from tsplatform.cli.main import COMMANDS

HEAVY = ("dagster", "pandas", "pyarrow", "pandera", "statsmodels", "prophet", "plotly", "fastapi", "nats")


def test_every_listed_command_loads_under_its_own_name():
    from tsplatform.cli.main import main

    for name in COMMANDS:
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name


def test_help_lists_every_command(tmp_path):
    code = "from tsplatform.cli import main\nmain(['--help'])\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_upload_imports_none_of_the_heavy_libraries(tmp_path):
    source = tmp_path / "sales.csv"
    source.write_text("Date,product_id,category,sales\n2026-01-01,P1,Toys,3.5\n", encoding="utf-8")
    environment = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"),
                   "TSPLATFORM_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}"}
    code = (
        "import sys\n"
        "from tsplatform.cli import main\n"
        f"main(['upload', {str(source)!r}], standalone_mode=False)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "new content" in result.stdout
    assert (tmp_path / "data" / "landing" / "sales.csv").read_bytes() == source.read_bytes()
    assert result.stderr.strip().splitlines()[-1] == "[]"


def _upload(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    code = f"from tsplatform.cli import main\nmain({['upload', *arguments]!r})\n"
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)


def test_upload_into_a_warehouse_not_migrated_yet_changes_no_schema_and_knows_a_repeat(tmp_path, warehouse_url):
    """``upload`` only opens the warehouse (no migration): an empty database is a database without
    uploads, on either backend; once the file is registered, the same content is known."""
    from tsplatform.ingest.registration import register_landed_files
    from tsplatform.settings import DataPaths
    from tsplatform.warehouse import open_warehouse

    source = tmp_path / "sales.csv"
    source.write_text("Date,product_id,category,sales\n2026-01-01,P1,Toys,3.5\n", encoding="utf-8")
    environment = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"), "TSPLATFORM_WAREHOUSE_URL": warehouse_url}
    first = _upload(environment, str(source))
    assert first.returncode == 0, first.stderr
    assert "new content" in first.stdout
    assert not _has_upload_table(warehouse_url)  # looked up, not migrated

    paths = DataPaths(tmp_path / "data")
    registered = register_landed_files(paths, open_warehouse(warehouse_url), settle_seconds=0)
    assert [r.status for r in registered] == ["uploaded"]
    again = _upload(environment, "--skip-known", str(source))
    assert again.returncode == 0, again.stderr
    assert f"already uploaded as batch {registered[0].batch_num}; skipped" in again.stdout
    assert not any(p.name == "sales.csv" for p in (tmp_path / "data" / "landing").iterdir())


def _has_upload_table(url: str) -> bool:
    from tsplatform.warehouse import backend_for

    try:
        with backend_for(url).transaction() as session:
            session.fetch_all("SELECT 1 FROM upload_metadata LIMIT 1")
    except Exception:
        return False
    return True
