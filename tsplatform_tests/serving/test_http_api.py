"""The HTTP API as a client sees it: ``tsplatform serve`` in a subprocess, real requests, and the
platform's own commands (``tsplatform ingest``, ``tsplatform forecast``, the stream sensor's runs)
doing the work in between."""

from __future__ import annotations

import csv
import io
import json
import logging
import warnings

import dagster as dg
import pandas as pd
import pytest

from tsplatform.serving import create_app
from tsplatform.serving.common import ServingSettings
from tsplatform.stream import ReadingGenerator, SegmentWriter
from tsplatform_tests.conftest import csv_text
from tsplatform_tests.serving.conftest import UPLOAD_LIMIT, Served

HOSTILE = '=HYPERLINK("http://evil.example","click")'
DAYS = pd.date_range("2024-01-01", periods=60)


def plain_csv() -> bytes:
    rows = [f"{day:%Y-%m-%d},p1,Books,{10 + i % 7}" for i, day in enumerate(DAYS)]
    return csv_text(*rows, "2024-03-05,p1,Books,not-a-number").encode()


def hostile_csv() -> bytes:
    quoted = HOSTILE.replace('"', '""')
    return csv_text(*[f'{day:%Y-%m-%d},p2,"{quoted}",{3 + i % 5}' for i, day in enumerate(DAYS)]).encode()


def mapped_csv() -> bytes:
    rows = [f"{day:%m/%d/%Y},P-9,Toys,{i + 1}" for i, day in enumerate(DAYS[:20])]
    return csv_text(*rows, header="Order Date,Product ID,Category,Sales").encode()


MAPPING = {"columns": "Order Date=Date,Product ID=product_id,Category=category,Sales=sales", "date_format": "%m/%d/%Y"}


@pytest.fixture(scope="module")
def ingested(served: Served) -> dict[str, dict]:
    """Three uploads over HTTP (one with mapping options), then ``tsplatform ingest``."""
    answers = {}
    with served.client() as client:
        for name, content, form in (
            ("plain", plain_csv(), {}), ("hostile", hostile_csv(), {}), ("mapped", mapped_csv(), MAPPING)
        ):
            response = client.post("/upload", files={"file": (f"{name}.csv", content, "text/csv")}, data=form)
            assert response.status_code == 202, response.text
            answers[name] = response.json()
    assert list(served.paths.landing.iterdir()) == []  # registered at once: moved to uploads/
    report = json.loads(served.cli("ingest", "--format", "json").stdout)
    assert {b["batch_num"]: b["status"] for b in report} == {a["batch_num"]: "completed" for a in answers.values()}
    return answers


def test_an_upload_over_http_lands_and_reaches_invoice_data_after_ingest(served, ingested):
    plain = ingested["plain"]
    assert plain["batch_num"].startswith("plain_") and plain["status"] == "uploaded"
    [stored] = served.paths.uploads.glob(f"*_{plain['batch_num']}.csv")
    assert stored.read_bytes() == plain_csv()  # byte for byte what was sent
    with served.client() as client:
        uploads = {u["batch_num"]: u for u in client.get("/metadata").json()}
        books = client.get("/invoice-data", params={"category": "Books"}).json()
        toys = client.get("/invoice-data", params={"category": "Toys"}).json()
    assert uploads[plain["batch_num"]]["status"] == "completed"
    assert uploads[plain["batch_num"]]["num_inserted_rows"] == 60 and uploads[plain["batch_num"]]["num_rejected_rows"] == 1
    assert [r["date"] for r in books] == [f"{d:%Y-%m-%d}" for d in DAYS]
    assert [r["sales"] for r in books[:3]] == [10.0, 11.0, 12.0]
    # the mapping options travelled with the file: US dates, own header names
    mapped = uploads[ingested["mapped"]["batch_num"]]
    assert mapped["date_format"] == "%m/%d/%Y" and json.loads(mapped["column_mapping"])["Order Date"] == "Date"
    assert [(r["date"], r["product_id"], r["sales"]) for r in toys[:2]] == [("2024-01-01", "P-9", 1.0), ("2024-01-02", "P-9", 2.0)]
    assert mapped["uploaded_at"].endswith("Z")  # times say they are UTC


def test_the_same_content_again_is_409_with_the_original_batch(served, ingested):
    with served.client() as client:
        response = client.post("/upload", files={"file": ("again.csv", plain_csv(), "text/csv")})
        uploads = client.get("/metadata").json()
        books = client.get("/invoice-data", params={"category": "Books"}).json()
    assert response.status_code == 409
    answer = response.json()
    assert answer["duplicate_of"] == ingested["plain"]["batch_num"]
    assert ingested["plain"]["batch_num"] in answer["detail"]
    [row] = [u for u in uploads if u["batch_num"] == answer["batch_num"]]
    assert row["status"] == "duplicate" and row["original_filename"] == "again.csv"
    assert list(served.paths.duplicates.glob(f"*_{answer['batch_num']}.csv"))  # kept, not deleted
    assert len(books) == 60 and {r["version"] for r in books} == {1}


def test_refused_uploads_leave_nothing_behind(served):
    before = _files(served)
    small = csv_text("2024-01-01,p1,A,1").encode()
    with served.client(token=None) as anonymous, served.client(token="wrong") as wrong, served.client() as client:
        assert anonymous.post("/upload", files={"file": ("a.csv", small)}).status_code == 401
        refused = wrong.post("/upload", files={"file": ("a.csv", small)})
        assert refused.status_code == 401 and "TSPLATFORM_API_TOKEN" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == "Bearer"

        bad_mapping = client.post("/upload", files={"file": ("a.csv", small)}, data={"columns": "Order Date=when"})
        assert bad_mapping.status_code == 400
        assert bad_mapping.json()["detail"] == "column mapping target 'when' is not one of Date, product_id, category, sales"
        bad_zone = client.post("/upload", files={"file": ("a.csv", small)}, data={"timezone": "Mars/Olympus"})
        assert bad_zone.status_code == 400 and "unknown time zone 'Mars/Olympus'" in bad_zone.json()["detail"]
        bad_delimiter = client.post("/upload", files={"file": ("a.csv", small)}, data={"delimiter": ";;"})
        assert bad_delimiter.status_code == 400 and "one character" in bad_delimiter.json()["detail"]
        hidden = client.post("/upload", files={"file": ("../../.hidden.csv", small)})
        assert hidden.status_code == 400 and "'.hidden.csv'" in hidden.json()["detail"]
        missing = client.post("/upload", data={"columns": "a=Date"})
        assert missing.status_code == 422 and missing.json()["detail"] == "form field 'file': Field required"

        over = client.post("/upload", files={"file": ("big.csv", b"x" * (UPLOAD_LIMIT + 1))})
        assert over.status_code == 413
        assert over.json()["detail"] == f"the file is over the upload limit of {UPLOAD_LIMIT:,} bytes (TSPLATFORM_API_MAX_UPLOAD_BYTES)"
        far_over = client.post("/upload", files={"file": ("huge.csv", b"x" * (3 * 1024 * 1024))})
        assert far_over.status_code == 413 and far_over.json()["detail"] == over.json()["detail"]
    assert _files(served) == before


def test_tables_filter_page_and_neutralise_formulas_in_csv(served, ingested):
    with served.client(token=None) as client:  # reads need no token
        every = client.get("/invoice-data").json()
        page = client.get("/invoice-data", params={"limit": 7, "offset": 5}).json()
        window = client.get("/invoice-data", params={"start_date": "2024-02-01", "end_date": "2024-02-03"}).json()
        exported = client.get("/invoice-data", params={"category": HOSTILE, "format": "csv"})
        raw = client.get("/invoice-data", params={"category": HOSTILE}).json()
        bad_date = client.get("/invoice-data", params={"start_date": "02/01/2024"})
        too_many = client.get("/invoice-data", params={"limit": 100_001})
        metadata_csv = client.get("/metadata", params={"format": "csv"})
    assert len(every) == 60 + 60 + 20
    assert page == every[5:12]
    assert {r["date"] for r in window} == {"2024-02-01", "2024-02-02", "2024-02-03"} and len(window) == 6
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 60 and {r["category"] for r in rows} == {"'" + HOSTILE}
    assert {r["category"] for r in raw} == {HOSTILE}  # JSON carries the value as stored
    assert bad_date.status_code == 422 and bad_date.json()["detail"].startswith("query parameter 'start_date':")
    assert too_many.status_code == 422 and "100000" in too_many.json()["detail"]
    assert len(list(csv.DictReader(io.StringIO(metadata_csv.text)))) >= 3


def test_forecast_data_by_category_model_and_day_as_json_and_safe_csv(served, ingested):
    served.cli("forecast", "--category", HOSTILE, "--category", "Books", "--horizon", "14")
    with served.client() as client:
        every = client.get("/forecast-data", params={"limit": 100_000}).json()
        best = client.get("/forecast-data", params={"best": "true"}).json()
        ensemble = client.get("/forecast-data", params={"category": "Books", "model_type": "ensemble"}).json()
        days = client.get("/forecast-data", params={"category": "Books", "start_date": "2024-03-05", "end_date": "2024-03-06"}).json()
        page = client.get("/forecast-data", params={"limit": 5, "offset": 14}).json()
        exported = client.get("/forecast-data", params={"category": HOSTILE, "format": "csv"})
        unknown = client.get("/forecast-data", params={"model_type": "crystal_ball"})
    assert {r["category"] for r in every} == {"Books", HOSTILE}
    assert page == every[14:19]
    assert {(r["category"], r["is_best"]) for r in best} == {("Books", True), (HOSTILE, True)}
    assert len({(r["category"], r["model_type"]) for r in best}) == 2 and len(best) == 2 * 14
    assert len(ensemble) == 14 and {r["model_type"] for r in ensemble} == {"ensemble"}
    assert ensemble[0]["forecast_date"] == "2024-03-01"  # the day after the last one in the history
    assert {r["forecast_date"] for r in days} == {"2024-03-05", "2024-03-06"}
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["category"] for r in rows} == {"'" + HOSTILE}
    assert float(rows[0]["forecast_value"]) == pytest.approx(
        next(r for r in every if r["category"] == HOSTILE and r["model_type"] == rows[0]["model_type"])["forecast_value"]
    )
    assert unknown.status_code == 400 and "crystal_ball" in unknown.json()["detail"] and "ensemble" in unknown.json()["detail"]


def test_readings_posted_are_stored_by_the_stream_path_and_read_back(served, monkeypatch, tmp_path):
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(served.paths.root))
    monkeypatch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
    from tsplatform_tests.stream.dagster_helpers import refresh, tick_and_run

    written = ReadingGenerator(2, seed=21, spike_probability=0.0).simulate("2024-01-01", 3 * 288, "5min")
    body = [{"sensor_id": r.sensor_id, "ts": r.ts.isoformat(), "value": r.value} for r in written.itertuples()]
    bad = [{"sensor_id": "sensor_1", "ts": "yesterday", "value": 1}, {"sensor_id": "sensor_1", "value": 2},
           "not an object", {"sensor_id": "sensor_9", "ts": "2024-01-04T00:00:00Z", "value": "high"}]
    with served.client(token=None) as anonymous, served.client() as client:
        assert anonymous.post("/api/readings", json=body[:2]).status_code == 401
        accepted = client.post("/api/readings", json=body[:-1])
        mixed = client.post("/api/readings", json=[bad[0], body[-1], *bad[1:]])
        with SegmentWriter(served.paths.stream, owner={"role": "generator"}):  # a generator is running
            busy = client.post("/api/readings", json=body[:1])
    assert accepted.status_code == 202 and accepted.json()["appended"] == len(body) - 1
    assert mixed.status_code == 422 and mixed.json()["appended"] == 1
    assert mixed.json()["rejected"] == [
        {"index": 0, "reason": "bad timestamp"}, {"index": 2, "reason": "missing field(s): ts"},
        {"index": 3, "reason": "not a JSON object"}, {"index": 4, "reason": "non-numeric value"},
    ]
    assert busy.status_code == 409 and "generator" in busy.json()["detail"]

    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        _, runs = tick_and_run(instance)  # the stream sensor and its run, as the daemon would
        assert [run.success for run in runs] == [True]
        assert refresh(instance, {"ops": {"sensor_forecast": {"config": {"horizon": "6h"}}}}).success

    with served.client(token=None) as client:
        since = client.get("/api/readings", params={"sensor": "sensor_1", "since": "2024-01-02T00:00:00Z", "limit": 3}).json()
        newest = client.get("/api/readings", params={"limit": 4}).json()
        forecast = client.get("/api/predict", params={"sensor": "sensor_2", "horizon": "1h"})
        whole = client.get("/api/predict", params={"sensor": "sensor_2"}).json()
        unknown = client.get("/api/predict", params={"sensor": "sensor_7"})
        bad_horizon = client.get("/api/predict", params={"sensor": "sensor_2", "horizon": "soon"})
        health = client.get("/health").json()
    expected = written[(written.sensor_id == "sensor_1") & (written.ts >= pd.Timestamp("2024-01-02", tz="UTC"))].head(3)
    assert [r["ts"] for r in since] == [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in expected.ts]
    assert [r["value"] for r in since] == pytest.approx(list(expected.value), rel=1e-13)
    last = written.sort_values(["ts", "sensor_id"]).tail(4)
    assert [r["sensor_id"] for r in newest] == list(last.sensor_id)
    assert [r["value"] for r in newest] == pytest.approx(list(last.value), rel=1e-13)
    assert forecast.status_code == 200
    answer = forecast.json()
    assert answer["origin"] == "2024-01-03T23:55:00+00:00" and answer["horizon_seconds"] == 3600
    assert [p["ds"] for p in answer["forecast"]][:2] == ["2024-01-04T00:00:00.000000Z", "2024-01-04T00:05:00.000000Z"]
    assert len(answer["forecast"]) == 12 and all(p["lower_bound"] <= p["yhat"] <= p["upper_bound"] for p in answer["forecast"])
    assert len(whole["forecast"]) == 72 and whole["stored_horizon_seconds"] == 6 * 3600
    assert unknown.status_code == 404 and "sensor_7" in unknown.json()["detail"]
    assert bad_horizon.status_code == 400 and "soon" in bad_horizon.json()["detail"]
    assert health["stream"]["newest_reading"] == "2024-01-03T23:55:00+00:00" and health["stream"]["age_seconds"] > 0


def test_health_names_the_warehouse_and_the_dagster_instance(served):
    with served.client(token=None) as client:
        response = client.get("/health")
        docs = client.get("/docs")
        spec = client.get("/openapi.json").json()
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["warehouse"] == {"ok": True, "url": str(served.paths.default_warehouse)}
    assert health["dagster"] == {"ok": True, "home": served.env["DAGSTER_HOME"]}
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {"/upload", "/metadata", "/invoice-data", "/forecast-data", "/health", "/api/readings", "/api/predict"} <= set(spec["paths"])


# -- the app in this process: failures a running server cannot be pushed into on purpose -------


def in_process_client(app):
    """Starlette's in-process client (its warning about httpx's future is not ours to act on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, raise_server_exceptions=False)


def test_an_unexpected_error_is_a_plain_500_and_logged(caplog, data_paths):
    app = create_app(ServingSettings())

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals at /etc/passwd")

    with in_process_client(app) as client, caplog.at_level(logging.ERROR, "tsplatform.serving"):
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "the server failed to answer this request (an internal error, written to its log)"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert any("GET /boom failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_no_warehouse_yet_is_503_with_the_reason(data_paths):
    with in_process_client(create_app(ServingSettings())) as client:
        response = client.get("/metadata")
        health = client.get("/health")
    assert response.status_code == 503
    assert response.json()["detail"].startswith(f"there is no warehouse at {data_paths.default_warehouse} yet")
    assert health.status_code == 503 and health.json()["warehouse"]["ok"] is False
    assert not data_paths.default_warehouse.exists()  # reading did not create it


def _files(served: Served) -> set[str]:
    return {str(p.relative_to(served.paths.root)) for p in served.paths.root.rglob("*")
            if p.is_file() and not p.name.startswith("warehouse.duckdb")}


def test_an_upload_over_http_is_picked_up_by_the_landing_sensor_and_its_run(served, ingested, monkeypatch):
    """The sensor path, not ``tsplatform ingest``: the landing sensor of the server's instance
    requests the HTTP upload's batch, and the run it requests puts the rows in ``invoice_data``."""
    from tsplatform.definitions import defs

    for name in ("TSPLATFORM_DATA_DIR", "DAGSTER_HOME"):
        monkeypatch.setenv(name, served.env[name])
    monkeypatch.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
    content = csv_text(*[f"2024-03-{day:02d},P-77,Garden,{day}" for day in range(1, 11)]).encode()
    with served.client() as client:
        answer = client.post("/upload", files={"file": ("garden.csv", content, "text/csv")})
    assert answer.status_code == 202, answer.text
    batch = answer.json()["batch_num"]

    definitions = defs()
    with dg.DagsterInstance.get() as instance:
        sensor = definitions.resolve_sensor_def("landing_sensor")
        with dg.build_sensor_context(instance=instance, resources=definitions.resources) as context:
            result = sensor(context)
        [request] = [r for r in result.run_requests if r.partition_key == batch]
        for partitions in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(partitions.partitions_def_name, list(partitions.partition_keys))
        job = definitions.resolve_job_def(request.job_name or sensor.job_name)  # None: the sensor's own job
        run = job.execute_in_process(instance=instance, partition_key=batch, tags=request.tags)
    assert run.success
    with served.client() as client:
        garden = client.get("/invoice-data", params={"category": "Garden"}).json()
        upload = {u["batch_num"]: u for u in client.get("/metadata").json()}[batch]
    assert [(r["date"], r["sales"]) for r in garden] == [(f"2024-03-{day:02d}", float(day)) for day in range(1, 11)]
    assert upload["status"] == "completed" and upload["run_id"] == run.run_id
