"""The warehouse's tables as pandas DataFrames, for notebooks, scripts and the HTTP API.

```python
from tsplatform import read

read.forecasts(category="Toys", best=True, start="2026-12-01")
read.invoices(category="Books", start="2026-01-01", end="2026-01-31")
read.uploads(); read.rejected_rows(batch="jan_1767225600_3fa2b1")
read.sensor_readings(sensor="sensor_1", since="2026-12-01T00:00:00Z")
```

The warehouse is the platform's: ``TSPLATFORM_WAREHOUSE_URL``, else the DuckDB file in
``TSPLATFORM_DATA_DIR``. Columns are as stored. Each function is one transaction, so it sees
whole batches: never half an upload, half a category's forecasts or half a stream range.

DuckDB lets one process at a time open its file, readers included. A read that finds a writer
holding the file waits and tries again, up to ``TSPLATFORM_READ_TIMEOUT`` seconds (30), then
raises ``WarehouseBusyError``; PostgreSQL readers are never blocked by writers and wait only for a
server that does not answer. A read never creates or migrates the warehouse (a reader may have no
right to, and a typo in the URL should not make an empty database).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import pandas as pd

from tsplatform import settings
from tsplatform.warehouse import Session, Warehouse, backend_for, stream_tables
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform.warehouse.errors import is_transient

TIMEOUT_VARIABLE = "TSPLATFORM_READ_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 30.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.02, 0.5  # seconds between tries: doubling, with jitter

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReadError(RuntimeError):
    """A read that could not be answered; the message says why and what to do."""


class WarehouseBusyError(ReadError):
    """The warehouse stayed locked (DuckDB) or unreachable (PostgreSQL) for the whole wait."""


class WarehouseNotReadyError(ReadError):
    """There is no warehouse yet at the configured place, or it lacks the table read."""


# -- invoice path ------------------------------------------------------------------------------


def invoices(category=None, start=None, end=None, limit=None, offset=None) -> pd.DataFrame:
    """``invoice_data``, ordered by date, category, product; ``start``/``end`` are days, inclusive."""
    return run(lambda s: invoice_table.read_invoices(s, category, _day(start), _day(end), limit, offset))


def uploads(limit=None, offset=None) -> pd.DataFrame:
    """``upload_metadata``: every upload, oldest first, whatever became of it."""
    return run(lambda s: upload_table.list_uploads(s, limit, offset))


def rejected_rows(batch=None) -> pd.DataFrame:
    """``rejected_rows``: the lines refused from every batch, or from ``batch`` only."""
    return run(lambda s: invoice_table.read_rejected_rows(s, batch))


# -- forecast path -----------------------------------------------------------------------------


def daily_category_sales(category=None) -> pd.DataFrame:
    """``daily_category_sales``: the series the forecasts are fitted on."""
    return run(lambda s: forecast_table.read_daily_category_sales(s, None if category is None else [category]))


def forecasts(category=None, model=None, best=None, start=None, end=None, limit=None, offset=None) -> pd.DataFrame:
    """``forecast_data``. ``model``: a model type (``ensemble``, ``prophet``...); ``best=True``: only
    each category's chosen model; ``start``/``end``: forecast days, inclusive."""
    return run(lambda s: forecast_table.read_forecasts(
        s, category, model, _day(start), _day(end), limit, best=best, offset=offset
    ))


def forecast_metrics(category=None, model=None) -> pd.DataFrame:
    """``forecast_metrics``: backtest scores per category, model and origin."""
    return run(lambda s: forecast_table.read_metrics(s, category, model))


# -- sensor stream -----------------------------------------------------------------------------


def sensor_readings(sensor=None, since=None, limit=None) -> pd.DataFrame:
    """``sensor_readings`` in time order (``ts`` UTC). With ``since``: the first ``limit`` from then
    on; without: the newest ``limit``."""
    return run(lambda s: stream_tables.read_stored_readings(s, sensor, _moment(since), limit))


def rejected_readings() -> pd.DataFrame:
    """``rejected_readings``: stream lines that were not readings, with where and why."""
    return run(stream_tables.read_rejected_readings)


def stream_ranges() -> pd.DataFrame:
    """``sensor_stream_ranges``: the ledger of stored stream ranges."""
    return run(stream_tables.read_ranges)


def sensor_stats() -> pd.DataFrame:
    """``sensor_stats``: one row per sensor."""
    return run(stream_tables.read_stats)


def sensor_smoothed(sensor=None, since=None) -> pd.DataFrame:
    """``sensor_smoothed``: the moving average of the last refresh."""
    return run(lambda s: stream_tables.read_smoothed(s, sensor, _moment(since)))


def anomalies(sensor=None, since=None) -> pd.DataFrame:
    """``sensor_anomalies``: readings flagged by the detector."""
    return run(lambda s: stream_tables.read_anomalies(s, sensor, _moment(since)))


def alarms(sensor=None, since=None) -> pd.DataFrame:
    """``sensor_alarms``: alarm events (one per incident, not per flagged reading), in start order;
    ``since``: those still running at or after that moment."""
    return run(lambda s: stream_tables.read_alarms(s, sensor, _moment(since)))


def sensor_forecasts(sensor=None) -> pd.DataFrame:
    """``sensor_forecast``: the stored forecast of each sensor (``ds`` UTC)."""
    return run(lambda s: stream_tables.read_forecast(s, sensor))


def newest_reading_time(timeout: float | None = None) -> pd.Timestamp | None:
    """The ``ts`` (UTC) of the newest stored reading, or None: how fresh the stream is."""
    newest = run(stream_tables.latest_reading_time, timeout=timeout)
    return None if newest is None else pd.Timestamp(newest, tz="UTC")


# -- the one way in ----------------------------------------------------------------------------


def run(query: Callable[[Session], T], *, timeout: float | None = None) -> T:
    """``query(session)`` in one read transaction on the platform's warehouse, waiting out a
    writer's lock for up to ``timeout`` seconds (default ``TSPLATFORM_READ_TIMEOUT``)."""
    warehouse = _warehouse(settings.warehouse_url())
    wait = read_timeout() if timeout is None else float(timeout)
    deadline = time.monotonic() + wait
    pause = _FIRST_PAUSE
    while True:
        try:
            with warehouse.snapshot() as session:
                return query(session)
        except FileNotFoundError as missing:
            raise WarehouseNotReadyError(
                f"there is no warehouse at {_place(warehouse)} yet: nothing has been stored "
                "(check TSPLATFORM_WAREHOUSE_URL / TSPLATFORM_DATA_DIR, or run `tsplatform db init`)"
            ) from missing
        except Exception as error:
            if _is_missing_table(error):
                raise WarehouseNotReadyError(
                    f"the warehouse at {_place(warehouse)} lacks a table ({_first_line(error)}); "
                    "run `tsplatform db init` to bring its schema up to date"
                ) from error
            if not is_transient(error):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseBusyError(_busy_message(warehouse, wait, error)) from error
            sleep = min(pause * random.uniform(0.5, 1.0), left)
            log.debug("warehouse %s busy (%s); reading again in %.3f s", _place(warehouse), _first_line(error), sleep)
            time.sleep(sleep)
            pause = min(pause * 2, _LONGEST_PAUSE)


def warehouse_address() -> str:
    """The configured warehouse (a DuckDB path, or a URL with its password hidden)."""
    return _place(_warehouse(settings.warehouse_url()))


def read_timeout() -> float:
    """``TSPLATFORM_READ_TIMEOUT``: how long a read waits for a busy warehouse, in seconds."""
    return float(settings.number_setting(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_SECONDS, "seconds", whole=False))


@cache
def _warehouse(url: str) -> Warehouse:
    return backend_for(url)  # as it is: a reader does not migrate


def _is_missing_table(error: BaseException) -> bool:
    import duckdb
    from psycopg import errors as pg

    return isinstance(error, (duckdb.CatalogException, pg.UndefinedTable))


def _busy_message(warehouse: Warehouse, wait: float, error: BaseException) -> str:
    if isinstance(warehouse.url, str) and warehouse.url.startswith("duckdb"):
        return (
            f"the warehouse file {_place(warehouse)} stayed locked by another process (a writer) for {wait:g} s; "
            f"try again, or wait longer with {TIMEOUT_VARIABLE} ({_first_line(error)})"
        )
    return f"the warehouse {_place(warehouse)} did not answer for {wait:g} s ({_first_line(error)})"


def _place(warehouse: Warehouse) -> str:
    """The warehouse's address without a password."""
    path = getattr(warehouse, "path", None)
    return str(path) if path is not None else re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", warehouse.url)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _day(value) -> dt.date | None:
    """A day from ``date``, ``datetime``, ``Timestamp`` or text such as ``2026-12-01``."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as problem:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)") from problem


def _moment(value) -> pd.Timestamp | None:
    """A point in time; naive values are UTC, as every timestamp in the warehouse."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as problem:
        raise ValueError(f"not a time: {value!r} (use ISO 8601, e.g. 2026-12-01T00:00:00Z)") from problem
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
