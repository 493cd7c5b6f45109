"""A writer process for the read-under-writes test: upload batches one after another through the
platform's write path (landing as ``tsplatform upload`` copies, registration, ``process_batch``)
until the time is up; after each batch, forecast its category and refresh the previous one's
(``tsplatform.forecasting.forecast`` with the benchmark models, stored as the forecast asset stores
a category: one transaction replacing its rows), so reads meet forecast writes as well.

Batch ``i`` is category ``w{i:04d}`` with ``batch_size(i)`` good rows and one bad row, so a reader
knows the whole-batch totals without asking. ``python -m tsplatform_tests.serving.batch_writer SECONDS``
prints one JSON line per committed batch.
"""

from __future__ import annotations

import json
import sys
import time

from tsplatform import settings
from tsplatform.ingest.landing import copy_into_landing
from tsplatform.ingest.options import UploadOptions
from tsplatform.ingest.processing import process_batch
from tsplatform.ingest.registration import register_landed_files
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import open_warehouse

PRODUCTS = 40
FORECAST_MODELS = ("naive", "seasonal_naive")
FORECAST_HORIZON = 14
FORECAST_ROWS = FORECAST_HORIZON * (len(FORECAST_MODELS) + 1)  # and the ensemble


def batch_size(index: int) -> int:
    return 3000 + 517 * (index % 11)


def category(index: int) -> str:
    return f"w{index:04d}"


def index_of(category_name: str) -> int:
    return int(category_name.removeprefix("w"))


def batch_csv(index: int) -> str:
    lines = ["Date,product_id,category,sales"]
    for row in range(batch_size(index)):
        day, product = divmod(row, PRODUCTS)
        lines.append(f"{_date(day)},p{product},{category(index)},{(row * 7 + index) % 50 + 1}")
    lines.append(f"2020-01-01,p0,{category(index)},not-a-number")  # one rejected row per batch
    return "\n".join(lines) + "\n"


def _date(day: int) -> str:
    import datetime as dt

    return (dt.date(2020, 1, 1) + dt.timedelta(days=day)).isoformat()


def daily_sales(index: int):
    """The batch's good rows summed per day: the series its category's forecast is fitted on."""
    import pandas as pd

    sales = {}
    for row in range(batch_size(index)):
        day, _ = divmod(row, PRODUCTS)
        sales[_date(day)] = sales.get(_date(day), 0) + (row * 7 + index) % 50 + 1
    return pd.Series(sales, dtype=float).set_axis(pd.to_datetime(list(sales)))


def write_forecast(warehouse, index: int, run_id: str) -> None:
    import pandas as pd

    from tsplatform.forecasting import forecast

    frame = forecast(daily_sales(index), FORECAST_HORIZON, models=FORECAST_MODELS, origins=0)
    rows = forecast_table.forecast_rows(frame, "seasonal_naive", 0.95)
    with warehouse.transaction() as session:  # no backtest metrics (origins=0)
        forecast_table.replace_category_forecasts(session, category(index), rows, pd.DataFrame(), run_id)


def main(seconds: float) -> None:
    paths = settings.data_paths().ensure()
    warehouse = open_warehouse(settings.warehouse_url())
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        source = paths.root / f"{category(index)}.csv"
        source.write_text(batch_csv(index))
        copy_into_landing(source, paths.landing, UploadOptions())
        [registration] = register_landed_files(paths, warehouse, settle_seconds=0)
        outcome = process_batch(warehouse, registration.batch_num)
        assert outcome.status == "completed", outcome
        for forecast_index in (index, index - 1) if index else (index,):  # a new category, a refresh
            write_forecast(warehouse, forecast_index, f"batch-{index}")
        print(json.dumps({"index": index, "batch_num": registration.batch_num, "rows": batch_size(index)}), flush=True)
        index += 1


if __name__ == "__main__":
    main(float(sys.argv[1]))
