"""The whole HTTP API fuzzed from its own OpenAPI schema by schemathesis, against a real
``tsplatform serve`` holding rows in every table it reads: no answer may be a server error, and
every answer (status, content type, headers, body) must be one the schema declares.

``schemathesis run`` (its CLI: every phase, examples -> coverage -> fuzzing -> stateful) rather
than its pytest plugin, whose lazy ``from_fixture`` schemas fail on pytest 9.2. Deterministic
(``--generation-deterministic``: the same cases every run, no example database) and bounded by
``EXAMPLES`` per operation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from tsplatform.stream import ReadingGenerator
from tsplatform_tests.serving.conftest import TOKEN, Served
from tsplatform_tests.serving.test_http_api import hostile_csv, plain_csv

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
EXAMPLES = 50  # per operation and phase
# positive_data_acceptance is left out: a reading's time must lie in 1970-2200, an upload's
# options must name a real time zone and encoding; the schema cannot say all that, the 4xx does
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
    "response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,"
    "allow_header_conformance,ignored_auth"
)
WRITES = {"POST", "PUT", "PATCH", "DELETE", "QUERY", "TRACE"}  # what TokenGuard refuses without the token


@pytest.fixture(scope="module")
def seeded(served: Served, tmp_path_factory) -> Served:
    """Rows in every table the API reads: two uploads ingested, one category forecast, readings
    stored by the stream sensor's run and forecast by the refresh, so reads answer real rows."""
    from tsplatform_tests.stream.dagster_helpers import refresh, tick_and_run

    written = ReadingGenerator(2, seed=5, spike_probability=0.0).simulate("2024-01-01", 288, "5min")
    readings = [{"sensor_id": r.sensor_id, "ts": r.ts.isoformat(), "value": r.value} for r in written.itertuples()]
    with served.client() as client:
        for name, content in (("plain", plain_csv()), ("hostile", hostile_csv())):
            assert client.post("/upload", files={"file": (f"{name}.csv", content)}).status_code == 202
        assert client.post("/api/readings", json=readings).status_code == 202
    served.cli("ingest")
    served.cli("forecast", "--category", "Books", "--horizon", "7")
    with pytest.MonkeyPatch.context() as env, dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("instance"))) as instance:
        env.setenv("TSPLATFORM_DATA_DIR", str(served.paths.root))
        env.delenv("TSPLATFORM_WAREHOUSE_URL", raising=False)
        _, runs = tick_and_run(instance)
        assert [run.success for run in runs] == [True]
        assert refresh(instance, {"ops": {"sensor_forecast": {"config": {"horizon": "1h"}}}}).success
    return served


def fuzz(served: Served, folder: Path, *options: str) -> list[dict]:
    """``schemathesis run`` on the server's schema; fails with its report unless every check
    passed. Returns what it sent and got (its HAR entries)."""
    har = folder / "fuzz.har"
    result = subprocess.run(
        [SCHEMATHESIS, "run", f"{served.url}/openapi.json", "--checks", CHECKS, "--max-examples", str(EXAMPLES),
         "--generation-deterministic", "--workers", "1", "--request-timeout", "60", "--no-color",
         "--report", "har", "--report-har-path", str(har), *options],
        cwd=folder, capture_output=True, text=True, timeout=900,
    )
    report = result.stdout[result.stdout.find("FAILURES"):] if "FAILURES" in result.stdout else result.stdout[-3000:]
    assert result.returncode == 0, f"schemathesis found problems:\n{report}\n{result.stderr[-2000:]}"
    return json.loads(har.read_text())["log"]["entries"]


def path_of(entry: dict, served: Served) -> str:
    return entry["request"]["url"].removeprefix(served.url).split("?")[0]


def test_every_operation_answers_as_its_schema_says(seeded, tmp_path):
    entries = fuzz(seeded, tmp_path, "--header", f"Authorization: Bearer {TOKEN}")
    answers = Counter((e["request"]["method"], path_of(e, seeded), e["response"]["status"]) for e in entries)
    with seeded.client() as client:
        operations = {(m.upper(), p) for p, ops in client.get("/openapi.json").json()["paths"].items() for m in ops}
    assert {(m, p) for m, p, _ in answers} >= operations  # every operation was fuzzed
    assert not [key for key in answers if key[2] >= 500]
    answered = {(m, p) for m, p, status in answers if status < 300}
    assert answered >= operations  # each also answered a success, so its success schema was checked
    full_pages = [e for e in entries if path_of(e, seeded) == "/invoice-data" and e["response"]["status"] == 200
                  and e["response"]["content"].get("text", "[]") not in ("[]", "")]
    assert full_pages  # real rows were validated, not only empty lists
    assert "Traceback" not in seeded.log.read_text()


def test_writes_without_the_token_are_refused_as_the_schema_says(seeded, tmp_path):
    before = _files(seeded)
    entries = fuzz(seeded, tmp_path, "--include-method", "POST")
    writes = [e for e in entries if e["request"]["method"] in WRITES]
    assert writes and {e["response"]["status"] for e in writes} == {401}
    assert _files(seeded) == before  # nothing landed, no stream segment written


def test_what_the_fuzzer_found_is_a_4xx_that_says_why(seeded):
    """The server errors and silent misreadings the fuzzer turned up, pinned."""
    reading = {"sensor_id": "sensor_1", "ts": "2024-01-02T00:00:00Z", "value": 1.0}
    with seeded.client() as client:
        beyond_int64 = client.get("/invoice-data", params={"offset": 2924671227920822017897986019819520})
        unix_day = client.get("/invoice-data", params={"start_date": "0"})
        unix_time = client.get("/api/readings", params={"since": "0.5"})
        nan_horizon = client.get("/api/predict", params={"sensor": "sensor_1", "horizon": "nan"})
        long_horizon = client.get("/api/predict", params={"sensor": "sensor_1", "horizon": "106751D"})
        nul_query = client.get("/api/predict", params={"sensor": "sensor\x001"})
        nul_reading = client.post("/api/readings", json=[{**reading, "sensor_id": "a\x00b"}, reading])
        nul_option = client.post("/upload", files={"file": ("n.csv", b"x")}, data={"timezone": "UTC\x00"})
        not_utf8 = client.post("/api/readings", content=b'[{"sensor_id": "\xc3\x28"}]', headers={"Content-Type": "application/json"})
        options = client.options("/api/readings")
    assert beyond_int64.status_code == 422 and "'offset'" in beyond_int64.json()["detail"]
    assert unix_day.status_code == 422 and "ISO 8601 day" in unix_day.json()["detail"]
    assert unix_time.status_code == 422 and "ISO 8601 time" in unix_time.json()["detail"]
    assert nan_horizon.status_code == 400 and "'nan' is not a duration" in nan_horizon.json()["detail"]
    assert long_horizon.status_code == 200 and len(long_horizon.json()["forecast"]) == 12  # all 1 h stored, 5 min apart
    assert nul_query.status_code == 422 and "NUL" in nul_query.json()["detail"]
    assert nul_reading.status_code == 422 and nul_reading.json()["appended"] == 1
    assert nul_reading.json()["rejected"] == [{"index": 0, "reason": "sensor_id holds a NUL character, which PostgreSQL text cannot store"}]
    assert nul_option.status_code == 422 and "form field 'timezone'" in nul_option.json()["detail"]
    assert not_utf8.status_code == 400 and not_utf8.json()["detail"] == "the request body cannot be read: JSON must be UTF-8 text"
    assert options.status_code == 405 and options.headers["allow"] == "GET, HEAD, POST"


def _files(served: Served) -> set[str]:
    return {str(p.relative_to(served.paths.root)) for p in served.paths.root.rglob("*")
            if p.is_file() and not p.name.startswith("warehouse.duckdb")}
