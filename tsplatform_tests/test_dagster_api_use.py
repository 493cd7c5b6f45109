"""The project uses Dagster's public, current API only: no private modules, no deprecated calls."""

import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PRIVATE_IMPORT = re.compile(r"^\s*(from\s+dagster(_\w+)?\._|import\s+dagster(_\w+)?\._)", re.MULTILINE)


def test_no_module_imports_private_dagster_api():
    """``dagster._...`` changes without notice between releases; tag names Dagster writes are in
    ``tsplatform/defs/dagster_tags.py``."""
    offenders = [
        f"{path.relative_to(PROJECT)}: {match.group(0).strip()}"
        for folder in ("tsplatform", "tsplatform_tests", "benchmarks")
        for path in sorted((PROJECT / folder).rglob("*.py"))
        for match in PRIVATE_IMPORT.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_loading_the_code_location_raises_no_deprecation_warning_from_our_code():
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    from tsplatform.definitions import defs; defs()\n"
        f"print([f'{{w.filename}}: {{w.message}}' for w in caught if w.filename.startswith({str(PROJECT / 'tsplatform')!r})])"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT).stdout
    assert output.strip().splitlines()[-1] == "[]"
