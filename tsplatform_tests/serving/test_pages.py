"""The pages ``tsplatform serve`` serves: the charts the assets wrote (under ``/charts``), the two
index pages, the dashboard, and the links in asset metadata that point at them
(``TSPLATFORM_PUBLIC_URL``). A real server, real ``tsplatform ingest`` / ``tsplatform forecast``
runs, real stream runs; hostile category and sensor names all the way through."""

from __future__ import annotations

import dataclasses
import http.client
import math
from urllib.parse import urljoin, urlsplit

import dagster as dg
import pandas as pd
import pytest

from tsplatform import read, settings
from tsplatform.forecasting import page_filename
from tsplatform.serving import create_app
from tsplatform.serving.common import ServingSettings
from tsplatform.stream import ReadingGenerator, SegmentWriter, chart_file_name
from tsplatform.warehouse import open_warehouse
from tsplatform_tests.conftest import csv_text
from tsplatform_tests.serving.conftest import Served
from tsplatform_tests.serving.html_pages import parts, rows_by_first_cell
from tsplatform_tests.serving.test_http_api import in_process_client

HOSTILE = "<script>alert(1)</script>"
HOSTILE_SENSOR = '"><img src=x onerror=alert(2)>'
DAYS = pd.date_range("2024-01-01", periods=70)


def sales_csvs() -> dict[str, bytes]:
    """One file per category (the server's upload limit is small)."""
    books = [f"{day:%Y-%m-%d},b1,Books,{20 + (i * 7) % 11 + 5 * (day.dayofweek >= 5)}" for i, day in enumerate(DAYS)]
    hostile = [f"{day:%Y-%m-%d},h1,{HOSTILE},{8 + (i * 3) % 5}" for i, day in enumerate(DAYS)]
    return {"books.csv": csv_text(*books).encode(), "hostile.csv": csv_text(*hostile).encode()}


@dataclasses.dataclass
class Published:
    served: Served
    forecast_metadata: dict
    report_metadata: dict
    sensor_metadata: dict
    readings: pd.DataFrame


@pytest.fixture(scope="module")
def published(served: Served) -> Published:
    """Sales uploaded over HTTP, ingested and forecast by the CLI; two sensors' readings stored and
    charted by the stream path's runs; every process told the server's address as its public URL."""
    public = dataclasses.replace(served, env={**served.env, settings.PUBLIC_URL_VARIABLE: served.url})
    with served.client() as client:
        for name, content in sales_csvs().items():
            assert client.post("/upload", files={"file": (name, content, "text/csv")}).status_code == 202
    public.cli("ingest")
    public.cli("forecast")

    generator = ReadingGenerator(2, seed=31, spike_probability=0.0)
    history = generator.simulate("2024-03-01", 1440, "2min")
    generator.spike("sensor_1", 70.0)
    live = generator.simulate("2024-03-03", 30, "2min")
    readings = pd.concat([history, live], ignore_index=True).replace({"sensor_id": {"sensor_2": HOSTILE_SENSOR}})
    with pytest.MonkeyPatch.context() as patch:
        for name in ("TSPLATFORM_DATA_DIR", "DAGSTER_HOME", settings.PUBLIC_URL_VARIABLE):
            patch.setenv(name, public.env[name])
        patch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
        from tsplatform_tests.stream.dagster_helpers import refresh, tick_and_run

        with SegmentWriter(served.paths.stream) as writer:
            writer.append(readings)
        with dg.DagsterInstance.get() as instance:
            _, runs = tick_and_run(instance)
            assert [run.success for run in runs] == [True]
            assert refresh(instance).success
            latest = lambda key: instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization.metadata  # noqa: E731
            return Published(served, latest("forecast_data"), latest("forecast_report"), latest("sensor_charts"), readings)


def url_of(metadata: dict, key: str) -> str:
    value = metadata[key]
    assert isinstance(value, dg.UrlMetadataValue), f"{key} is {type(value).__name__}, not a link"
    return value.url


def test_metadata_links_open_the_charts_on_the_public_url(published):
    served, forecasts = published.served, published.forecast_metadata
    expected = {c: f"{served.url}/charts/forecasts/{page_filename(c)}" for c in ("Books", HOSTILE)}
    assert {c: url_of(forecasts, f"chart_url {c}") for c in expected} == expected
    index = f"{served.url}/charts/forecasts/index.html"
    assert url_of(forecasts, "index_url") == index and url_of(published.report_metadata, "url") == index
    assert forecasts["charts"].value[HOSTILE].endswith(page_filename(HOSTILE))  # the file path stays for the shell
    with served.client(token=None) as client:
        for category, link in expected.items():
            page = client.get(link)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            assert f"<h1>{category.replace('<', '&lt;').replace('>', '&gt;')}</h1>" in page.text and HOSTILE not in page.text
            assert parts(page.text).scripts == ["plotly.min.js"]  # no CDN: the chart renders offline
        script = client.get(urljoin(expected["Books"], "plotly.min.js"))
    assert script.status_code == 200 and "javascript" in script.headers["content-type"] and len(script.content) > 1_000_000

    sensors = published.sensor_metadata
    assert url_of(sensors, "index_url") == f"{served.url}/charts/sensor_stream/index.html"
    for sensor in ("sensor_1", HOSTILE_SENSOR):
        assert url_of(sensors, f"chart_url {sensor}") == f"{served.url}/charts/sensor_stream/{chart_file_name(sensor)}"
        assert sensors[f"chart {sensor}"].value.endswith(chart_file_name(sensor))


def test_every_link_of_both_index_pages_resolves_over_http(published):
    served = published.served
    charts = f"{served.url}/charts"
    followed = {}
    with served.client(token=None) as client:
        for index, names in (("forecasts/index.html", {"Books", HOSTILE}), ("sensor_stream/index.html", {"sensor_1", HOSTILE_SENSOR})):
            start = f"{served.url}/charts/{index}"
            page = client.get(start)
            assert page.status_code == 200
            found = parts(page.text)
            assert len(found.links) == len(names) and HOSTILE not in page.text and HOSTILE_SENSOR not in page.text
            for link in found.links:
                assert not urlsplit(link).scheme, f"{link} is not relative"  # file:// would not open over HTTP
                chart = client.get(urljoin(start, link))
                followed[urljoin(start, link)] = chart.status_code
                for onward in [*parts(chart.text).links, *parts(chart.text).scripts]:  # back to the index, plotly.js
                    followed[urljoin(str(chart.url), onward)] = client.get(urljoin(str(chart.url), onward)).status_code
    expected = {f"{charts}/forecasts/{page_filename(c)}" for c in ("Books", HOSTILE)} | {
        f"{charts}/sensor_stream/{chart_file_name(s)}" for s in ("sensor_1", HOSTILE_SENSOR)
    } | {f"{charts}/forecasts/index.html", f"{charts}/forecasts/plotly.min.js", f"{charts}/sensor_stream/plotly.min.js"}
    assert followed == dict.fromkeys(expected, 200)  # every chart, the way back to its index, plotly.js


def test_paths_outside_the_reports_folder_are_refused(published):
    served = published.served
    secret = served.paths.root / "secret.html"
    secret.write_text("SECRET-3f1c")
    (served.paths.reports / "forecasts" / "link.html").symlink_to(secret)
    (served.paths.reports / "notes.txt").write_text("not a page")
    (served.paths.reports / ".hidden.html").write_text("HIDDEN-9a0e")
    host, port = urlsplit(served.url).hostname, urlsplit(served.url).port
    answers = {}
    for path in ("/charts/%2e%2e/secret.html", "/charts/forecasts/%2E%2E/%2e%2e/secret.html", "/charts/..%2Fsecret.html",
                 "/charts//etc/passwd", "/charts/forecasts/link.html", "/charts/notes.txt", "/charts/.hidden.html",
                 "/charts/%2e%2e/warehouse.duckdb", "/charts/forecasts/nothing-yet.html"):
        connection = http.client.HTTPConnection(host, port, timeout=30)  # sends the path as written
        connection.request("GET", path)
        response = connection.getresponse()
        answers[path] = (response.status, response.read().decode(), response.getheader("content-type"))
        connection.close()
    for path, (status, body, kind) in answers.items():
        assert "SECRET-3f1c" not in body and "HIDDEN-9a0e" not in body and kind == "application/json", path
        expected = 404 if path.endswith(("link.html", "notes.txt", ".hidden.html", "nothing-yet.html")) else 400
        assert status == expected, (path, status, body)
    assert "may not leave" in answers["/charts/%2e%2e/secret.html"][1]
    missing = answers["/charts/forecasts/nothing-yet.html"][1]
    assert "no chart at 'forecasts/nothing-yet.html'" in missing and "forecast_data" in missing and "Traceback" not in missing
    with served.client(token=None) as client:
        folder = client.get("/charts/forecasts", follow_redirects=False)
    assert folder.status_code == 307 and folder.headers["location"] == "/charts/forecasts/index.html"


def test_the_dashboard_shows_each_categorys_choice_and_each_sensor_escaped(published, monkeypatch):
    served = published.served
    with served.client(token=None) as client:
        root = client.get("/", follow_redirects=True)
        page = client.get("/dashboard")
        best = pd.DataFrame(client.get("/forecast-data", params={"best": "true", "limit": 100_000}).json())
        spec = client.get("/openapi.json").json()
    assert root.url.path == "/dashboard" and page.status_code == 200
    assert '<meta http-equiv="refresh" content="15">' in page.text
    assert HOSTILE not in page.text and HOSTILE_SENSOR not in page.text  # escaped: text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not {path for path in spec["paths"] if path.startswith(("/charts", "/dashboard")) or path == "/"}

    categories = rows_by_first_cell(page.text, "categories")
    assert set(categories) == {"Books", HOSTILE}
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(served.paths.root))
    monkeypatch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
    for category, row in categories.items():
        chosen = best[best["category"] == category].sort_values("forecast_date")
        [model] = set(chosen["model_type"])
        scores = read.forecast_metrics(category=category, model=model)
        assert row[1] == model
        assert row[2] == f"{chosen['forecast_value'].head(30).sum():,.1f}"  # 30 days: the default horizon
        assert row[3] == chosen["forecast_date"].iloc[0] == "2024-03-11"
        assert row[4] == f"{scores['mase'].mean():.3f}" and math.isfinite(float(row[4]))
        assert row[6].endswith(" of 95%")

    sensors = rows_by_first_cell(page.text, "sensors")
    assert set(sensors) == {"sensor_1", HOSTILE_SENSOR}
    for sensor, row in sensors.items():
        mine = published.readings[published.readings["sensor_id"] == sensor].sort_values("ts")
        assert row[1] == "2024-03-03 00:58:00 UTC"
        assert row[2].split(", ") == [f"{v:.2f}" for v in mine["value"].iloc[::-1].head(5)]
        assert row[3] == f"{len(mine):,}"
    assert sensors["sensor_1"][6].startswith("1: 2024-03-03 00:00:00 UTC value")
    assert sensors[HOSTILE_SENSOR][6] == "none"

    links = parts(page.text).links
    expected = {f"charts/forecasts/{page_filename(c)}" for c in categories} | {
        f"charts/sensor_stream/{chart_file_name(s)}" for s in sensors
    } | {"charts/forecasts/index.html", "charts/sensor_stream/index.html", "docs"}
    assert set(links) == expected
    with served.client(token=None) as client:
        assert {link: client.get(urljoin(f"{served.url}/dashboard", link)).status_code for link in links} == dict.fromkeys(links, 200)


def test_without_a_warehouse_or_data_the_dashboard_says_nothing_is_computed_yet(data_paths):
    with in_process_client(create_app(ServingSettings())) as client:
        absent = client.get("/dashboard")
        assert not data_paths.default_warehouse.exists()  # looking did not create it
        open_warehouse(settings.warehouse_url())  # created and migrated, still empty
        empty = client.get("/dashboard")
    assert absent.status_code == 200 and "Nothing has been computed yet" in absent.text
    assert f"there is no warehouse at {data_paths.default_warehouse} yet" in absent.text
    assert empty.status_code == 200 and "Nothing has been computed yet" not in empty.text
    assert "No forecasts yet" in empty.text and "No sensor readings yet" in empty.text


def test_the_public_url_follows_the_api_port_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.PUBLIC_URL_VARIABLE, raising=False)
    monkeypatch.delenv(settings.API_PORT_VARIABLE, raising=False)
    page = tmp_path / "reports" / "forecasts" / "a b.html"
    assert settings.report_url(page, tmp_path / "reports") == "http://127.0.0.1:8000/charts/forecasts/a%20b.html"
    monkeypatch.setenv(settings.API_PORT_VARIABLE, "8123")
    assert settings.public_url() == "http://127.0.0.1:8123"
    monkeypatch.setenv(settings.PUBLIC_URL_VARIABLE, "https://charts.example.com/tsp/")
    assert settings.report_url(page, tmp_path / "reports") == "https://charts.example.com/tsp/charts/forecasts/a%20b.html"
    monkeypatch.setenv(settings.API_PORT_VARIABLE, "eighty")
    monkeypatch.delenv(settings.PUBLIC_URL_VARIABLE)
    with pytest.raises(ValueError, match="TSPLATFORM_API_PORT must be a port number"):
        settings.public_url()
