"""``tsplatform.read``: the tables as written by the platform's own writers, the same on DuckDB and
PostgreSQL, and reads that wait out a writer's lock for a bounded time."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from tsplatform import read
from tsplatform.ingest.landing import copy_into_landing
from tsplatform.ingest.options import UploadOptions
from tsplatform.ingest.processing import process_batch
from tsplatform.ingest.registration import register_landed_files
from tsplatform.settings import DataPaths
from tsplatform.stream import JsonlSegmentSource, ReadingGenerator, SegmentWriter, analysis
from tsplatform.stream.range_ingest import ingest_range
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import open_warehouse
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text

# columns that name when or by which run or batch a row was written: they differ between two
# warehouses written a moment apart, everything else must not
_WHEN_AND_WHO = {
    "created_at", "updated_at", "uploaded_at", "started_at", "finished_at", "rejected_at", "stored_at",
    "detected_at", "applied_at", "scanned_at", "anomalies_scanned_at", "batch_num", "source_batch_num",
    "source_uploaded_at", "stored_filename", "run_id",
}
READS = {
    "invoices": lambda: read.invoices(),
    "invoices filtered": lambda: read.invoices(category="B", start="2024-01-02", end="2024-01-07", limit=2, offset=1),
    "uploads": lambda: read.uploads(),
    "rejected_rows": lambda: read.rejected_rows(),
    "daily_category_sales": lambda: read.daily_category_sales("A"),
    "forecasts": lambda: read.forecasts(),
    "forecasts filtered": lambda: read.forecasts(category="A", model="theta", best=True, start="2024-02-02", end="2024-02-03"),
    "forecasts paged": lambda: read.forecasts(best=False, limit=3, offset=2),
    "forecast_metrics": lambda: read.forecast_metrics(model="naive"),
    "sensor_readings": lambda: read.sensor_readings(),
    "sensor_readings since": lambda: read.sensor_readings(sensor="sensor_2", since="2024-01-01T10:00:00Z", limit=5),
    "sensor_readings newest": lambda: read.sensor_readings(limit=5),
    "rejected_readings": lambda: read.rejected_readings(),
    "stream_ranges": lambda: read.stream_ranges(),
    "sensor_stats": lambda: read.sensor_stats(),
    "sensor_smoothed": lambda: read.sensor_smoothed(sensor="sensor_1"),
    "anomalies": lambda: read.anomalies(),
    "alarms": lambda: read.alarms(),
    "sensor_forecasts": lambda: read.sensor_forecasts("sensor_2"),
}


def write_every_table(paths, url: str) -> None:
    """Each table through the code that writes it in the platform."""
    warehouse = open_warehouse(url)
    source = paths.root / "sales.csv"
    days = pd.date_range("2024-01-01", periods=40)
    source.write_text(csv_text(
        *[f"{d:%Y-%m-%d},p{i % 3},{'AB'[i % 2]},{i}" for i, d in enumerate(days)], "2024-01-09,p1,A,", "2024-01-10,p1,A,x"
    ))
    copy_into_landing(source, paths.landing, UploadOptions())
    [registration] = register_landed_files(paths, warehouse, settle_seconds=0)
    assert process_batch(warehouse, registration.batch_num).status == "completed"

    forecast = pd.DataFrame({
        "model": ["theta"] * 3 + ["naive"] * 3, "ds": list(pd.date_range("2024-02-01", periods=3)) * 2,
        "yhat": [1.5, 2.25, 3.0, 4.0, 4.0, 4.0], "lower": [1.0, 1.5, 2.0, 3.0, 2.5, 2.0],
        "upper": [2.0, 3.0, 4.0, 5.0, 5.5, 6.0], "flag": [None, None, None, "short", "short", "short"],
    })
    backtest = pd.DataFrame({
        "model": ["theta", "naive"], "origin": [pd.Timestamp("2024-01-20")] * 2, "smape": [0.1, 0.2],
        "mase": [0.9, 1.0], "coverage": [0.95, 0.9], "n": [10, 10],
    })
    with warehouse.transaction() as session:
        forecast_table.replace_daily_category_sales(session, forecast_table.invoice_totals_by_day(session))
        forecast_table.replace_category_forecasts(
            session, "A", forecast_table.forecast_rows(forecast, "theta", 0.95),
            forecast_table.metric_rows(backtest, "theta", 3), "run-f",
        )

    generator = ReadingGenerator(2, seed=3, spike_probability=0.0)
    readings = generator.simulate("2024-01-01", 240, "5min")
    readings.loc[100, "value"] = 400.0  # one spike for the detector
    with SegmentWriter(paths.stream) as writer:
        writer.append(readings)
        writer.append_lines([b'{"sensor_id":"sensor_1","ts":"soon","value":1}\n'])
    ingest_range(warehouse, JsonlSegmentSource(paths.stream), "", "", "run-s")
    analysis.refresh_stats(warehouse, pd.Timedelta("1D"), 3.0, "run-s")
    analysis.refresh_smoothed(warehouse, "30min", pd.Timedelta("1D"), "run-s")
    analysis.scan_new_ranges(warehouse, 5.0, "41", 5, "run-s")
    analysis.refresh_forecasts(warehouse, period="auto", harmonics=2, horizon="1h", lookback=pd.Timedelta("7D"),
                               resample="1min", interval=0.9, run_id="run-s")


def test_the_read_functions_return_the_same_tables_on_duckdb_and_postgres(tmp_path, postgres_schema_url, monkeypatch):
    answers = {}
    for backend in ("duckdb", "postgres"):
        paths = DataPaths(tmp_path / backend).ensure()  # each its own landing and stream folder
        url = f"duckdb:///{paths.default_warehouse}" if backend == "duckdb" else postgres_schema_url
        monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(paths.root))
        monkeypatch.setenv("TSPLATFORM_WAREHOUSE_URL", url)
        write_every_table(paths, url)
        answers[backend] = {name: reader() for name, reader in READS.items()}
        with open_warehouse(url).transaction() as session:
            [batch] = upload_table.list_uploads(session)["batch_num"]
        answers[backend]["rejected_rows of the batch"] = read.rejected_rows(batch=batch)
    for name, duck in answers["duckdb"].items():
        postgres = answers["postgres"][name]
        assert list(duck.columns) == list(postgres.columns), name
        kept = [c for c in duck.columns if c not in _WHEN_AND_WHO]
        pd.testing.assert_frame_equal(
            _comparable(duck[kept]), _comparable(postgres[kept]), check_dtype=False, check_exact=False, rtol=1e-9, obj=name
        )
    duck = answers["duckdb"]
    # what each answer holds, not only that both backends agree
    assert len(duck["invoices"]) == 41 and duck["invoices"]["is_imputed"].sum() == 1  # the blank sales cell
    assert len(duck["rejected_rows"]) == 1 == len(duck["rejected_rows of the batch"])
    assert duck["invoices filtered"][["date", "category"]].astype(str).values.tolist() == [["2024-01-04", "B"], ["2024-01-06", "B"]]
    assert duck["uploads"]["status"].tolist() == ["completed"]
    assert duck["forecasts filtered"]["forecast_value"].tolist() == [2.25, 3.0]
    assert len(duck["forecasts paged"]) == 1 and not duck["forecasts paged"]["is_best"].any()
    assert duck["forecast_metrics"]["model_type"].tolist() == ["naive"]
    since = duck["sensor_readings since"]
    assert len(since) == 5 and set(since["sensor_id"]) == {"sensor_2"}
    assert since["ts"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert duck["sensor_readings newest"]["ts"].max() == duck["sensor_readings"]["ts"].max()
    assert {"segment", "line_offset", "stored_at"} <= set(duck["sensor_readings"].columns)  # every stored column
    assert len(duck["rejected_readings"]) == 1 and len(duck["anomalies"]) >= 1
    assert len(duck["sensor_forecasts"]) == 12 and set(duck["sensor_forecasts"]["sensor_id"]) == {"sensor_2"}


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True).copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(None) if frame[column].dt.tz else frame[column]
            frame[column] = frame[column].astype("datetime64[us]")
        elif frame[column].dtype == object:
            frame[column] = frame[column].where(frame[column].notna(), None)
    return frame


def test_no_warehouse_yet_is_a_clear_error_and_creates_nothing(data_paths):
    with pytest.raises(read.WarehouseNotReadyError, match="there is no warehouse at .*warehouse.duckdb yet"):
        read.uploads()
    assert not data_paths.default_warehouse.exists()


def test_a_read_waits_for_a_writer_to_let_go(data_paths):
    open_warehouse(f"duckdb:///{data_paths.default_warehouse}")
    with _held(data_paths.default_warehouse, seconds=2):
        started = time.monotonic()
        assert read.uploads().empty
        waited = time.monotonic() - started
    assert 0.5 < waited < 10


def test_a_read_gives_up_after_the_timeout_and_names_the_file(data_paths, monkeypatch):
    open_warehouse(f"duckdb:///{data_paths.default_warehouse}")
    monkeypatch.setenv("TSPLATFORM_READ_TIMEOUT", "1.5")
    with _held(data_paths.default_warehouse, seconds=60):
        started = time.monotonic()
        with pytest.raises(read.WarehouseBusyError) as refused:
            read.forecasts()
        waited = time.monotonic() - started
    assert 1.5 <= waited < 4
    message = str(refused.value)
    assert str(data_paths.default_warehouse) in message and "for 1.5 s" in message and "TSPLATFORM_READ_TIMEOUT" in message


def test_a_bad_timeout_setting_is_refused(data_paths, monkeypatch):
    monkeypatch.setenv("TSPLATFORM_READ_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="TSPLATFORM_READ_TIMEOUT must be a number of seconds"):
        read.uploads()


def test_a_read_beside_an_open_write_in_this_process_sees_only_committed_batches(data_paths):
    """The read's connection matches the writers' settings (DuckDB refuses a second connection of
    another configuration in one process), and sees the last commit, not the open transaction."""
    warehouse = open_warehouse(f"duckdb:///{data_paths.default_warehouse}")
    seen = {}
    with warehouse.transaction() as session:
        session.execute(
            "INSERT INTO upload_metadata (batch_num, original_filename, stored_filename, file_hash, file_size_bytes, "
            "uploaded_at, status) VALUES ('b1', 'f.csv', 'x', 'h', 1, '2024-01-01', 'uploaded')"
        )
        reader = threading.Thread(target=lambda: seen.update(during=read.uploads()))
        reader.start()
        reader.join(timeout=30)
    seen["after"] = read.uploads()
    assert seen["during"].empty and seen["after"]["batch_num"].tolist() == ["b1"]


class _held:
    """Another process holding the DuckDB file, as a writer does."""

    def __init__(self, path, seconds: float):
        self.path, self.seconds = path, seconds

    def __enter__(self):
        code = (f"import duckdb, sys, time; c = duckdb.connect({str(self.path)!r}); print('held', flush=True); "
                f"time.sleep({self.seconds})")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "held"
        return self

    def __exit__(self, *exc_info):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
