"""A person's click path, in a real headless Chromium: the Dagster UI's asset page shows the chart
link from the materialisation's metadata, the link opens on ``tsplatform serve`` (the
``TSPLATFORM_PUBLIC_URL``), and plotly.js, served from the same folder, draws the chart without
internet access. Screenshots are kept in ``artifacts/``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tsplatform.forecasting import page_filename
from tsplatform.settings import DataPaths
from tsplatform_tests.conftest import csv_text
from tsplatform_tests.deploy.test_production_shape import CHROMIUM_FLAGS
from tsplatform_tests.processes import chromium, stop_groups
from tsplatform_tests.serving.conftest import free_port

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = PROJECT / "artifacts"
CATEGORY = "Garden & Tools"  # an ampersand: the link must survive HTML and URL encoding

pytestmark = pytest.mark.slow


def browse(browser: str, profile: Path, *args: str, budget_ms: int = 20_000) -> str:
    """Chromium's DOM (``--dump-dom``) or screenshot after ``budget_ms`` of page time (scripts run)."""
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time-budget")]
    result = subprocess.run([browser, *flags, f"--virtual-time-budget={budget_ms}", f"--user-data-dir={profile}", *args],
                            capture_output=True, text=True, timeout=180)
    return result.stdout


def test_the_chart_link_on_the_dagster_asset_page_opens_a_rendered_chart(tmp_path):
    browser = chromium()
    api_port, web_port = free_port(), free_port()
    api, web = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{web_port}"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    paths = DataPaths(tmp_path / "data")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(paths.root), "TSPLATFORM_PUBLIC_URL": api}
    for name in ("TSPLATFORM_WAREHOUSE_URL", "TSPLATFORM_API_TOKEN"):
        env.pop(name, None)
    sales = tmp_path / "garden.csv"
    sales.write_text(csv_text(*[f"2024-01-{d:02d},g1,{CATEGORY},{12 + d % 7}" for d in range(1, 32)],
                              *[f"2024-02-{d:02d},g1,{CATEGORY},{12 + d % 5}" for d in range(1, 29)]))
    for command in (["upload", str(sales)], ["ingest"], ["forecast", "--horizon", "14"]):
        done = subprocess.run([str(BIN / "tsplatform"), *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"tsplatform {' '.join(command)}:\n{done.stdout}\n{done.stderr}"

    started = []
    try:
        for name, argv in (("serve", [str(BIN / "tsplatform"), "serve", "--port", str(api_port)]),
                           ("webserver", [str(BIN / "dagster-webserver"), "-m", "tsplatform.definitions", "-h", "127.0.0.1",
                                          "-p", str(web_port)])):
            with open(tmp_path / f"{name}.log", "wb") as log:
                started.append(subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True))
        wait_for(f"{api}/health", started, tmp_path)
        wait_for(f"{web}/server_info", started, tmp_path)

        chart = f"{api}/charts/forecasts/{page_filename(CATEGORY)}"
        asset_page = f"{web}/assets/forecast_data?partition={quote(CATEGORY)}"
        links = []
        for attempt in range(3):  # the UI loads its data after the page: give a slow machine a second look
            dom = browse(browser, tmp_path / f"profile-ui-{attempt}", "--dump-dom", asset_page)
            links = [h.replace("&amp;", "&") for h in re.findall(r'href="(http://127\.0\.0\.1:\d+/charts/[^"]+)"', dom)]
            if chart in links:
                break
        assert chart in links, f"no link to {chart} on {asset_page}; links to charts: {links}"

        served = httpx.get(chart, timeout=30)
        assert served.status_code == 200 and "main-svg" not in served.text  # plotly.js draws the SVG in the browser
        rendered = browse(browser, tmp_path / "profile-chart", "--dump-dom", chart)
        assert 'class="plot-container plotly"' in rendered and 'class="main-svg"' in rendered, rendered[:2000]
        assert "Garden &amp; Tools: forecast" in rendered  # the chart's own title, drawn by plotly

        ARTIFACTS.mkdir(exist_ok=True)
        for name, page, budget in (("forecast-chart", chart, 20_000), ("dashboard", f"{api}/dashboard", 5_000)):
            target = ARTIFACTS / f"{name}.png"
            target.unlink(missing_ok=True)
            browse(browser, tmp_path / f"profile-{name}", f"--screenshot={target}", page, budget_ms=budget)
            assert target.exists() and target.stat().st_size > 10_000, f"no screenshot of {page}"
    finally:
        stop_groups(started)


def wait_for(url: str, processes: list[subprocess.Popen], logs: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0]} exited {process.returncode}: " + " ".join(
                    p.read_text()[-2000:] for p in logs.glob("*.log")))
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds} s")
