"""Importing the package must stay cheap: the heavy libraries load only when used."""

import subprocess
import sys

HEAVY = ("pandas", "numpy", "statsmodels", "prophet", "plotly", "cmdstanpy", "scipy")


def test_package_import_loads_no_heavy_library():
    code = f"import sys, tsplatform.forecasting; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_names_resolve_lazily():
    import tsplatform.forecasting as forecasting

    for name in forecasting.__all__:
        assert getattr(forecasting, name) is not None
    assert "forecast_categories" in dir(forecasting)
