"""``/api/readings`` and ``/api/predict``: the sensor stream over HTTP.

A POST appends to the stream folder as a writer session of its own (one new segment), with the
generator's writer and checks; ``sensor_stream_sensor`` stores the readings like any others, so
they show in ``GET /api/readings`` after its next tick. The stream has one writer at a time: while
``tsplatform stream`` runs, a POST is refused (409) rather than interleaving two writers' segments.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from tsplatform import read, settings
from tsplatform.serving.common import DEFAULT_PAGE, MAX_PAGE, bearer, records_text, table_response
from tsplatform.stream import SegmentWriter, WriterBusyError
from tsplatform.stream.codec import parse_values

MAX_READINGS = 100_000  # per POST
READINGS_MAX_BODY_BYTES = 32 * 1024 * 1024
READINGS_BODY_LIMIT = (READINGS_MAX_BODY_BYTES, f"the request body is over {READINGS_MAX_BODY_BYTES:,} bytes; send fewer readings at a time")

router = APIRouter(prefix="/api", tags=["sensor stream"])
_one_writer = threading.Lock()  # the stream's lock is per open file: threads of one server take turns here


@router.get("/readings")
def readings(
    sensor: str | None = Query(None, description="one sensor_id (default: all)"),
    since: dt.datetime | None = Query(None, description="from this time on, ISO 8601 (naive = UTC)"),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="with since: the first N from then; without: the newest N"),
) -> Response:
    """Stored `sensor_readings` in time order: page forward with `since` = the last `ts` seen."""
    return table_response(read.sensor_readings(sensor=sensor, since=since, limit=limit), "sensor_readings")


@router.post(
    "/readings",
    status_code=202,
    dependencies=[Depends(bearer)],
    responses={
        422: {"description": "some readings are invalid: their positions and reasons; the valid ones were appended"},
        409: {"description": "another process (the stream generator) is writing the stream"},
    },
)
def append_readings(
    body: list[Any] = Body(
        ...,
        description='readings such as {"sensor_id": "sensor_1", "ts": "2026-12-01T12:00:00Z", "value": 101.3}',
        examples=[[{"sensor_id": "sensor_1", "ts": "2026-12-01T12:00:00Z", "value": 101.3}]],
    ),
) -> JSONResponse:
    """Append readings to the stream, checked as stream lines are: each invalid one is named with
    its reason (422) and skipped, the valid ones are appended."""
    if len(body) > MAX_READINGS:
        raise HTTPException(413, detail=f"at most {MAX_READINGS:,} readings per request; send them in parts")
    valid, rejected = parse_values(body)
    segment = _append(valid) if len(valid) else None
    answer = {"appended": len(valid), "segment": segment}
    if not rejected:
        return JSONResponse({"detail": f"{len(valid)} readings appended to the stream", **answer}, status_code=202)
    return JSONResponse(
        {
            "detail": f"{len(rejected)} of {len(body)} readings are invalid and were not appended; "
                      f"the other {len(valid)} were",
            "rejected": [{"index": index, "reason": reason} for index, reason in rejected],
            **answer,
        },
        status_code=422,
    )


@router.get("/predict", responses={404: {"description": "no stored forecast for this sensor"}})
def predict(
    sensor: str = Query(..., description="sensor_id"),
    horizon: str | None = Query(None, description='how far ahead: "30min", "6h", "1D" or seconds (default: all stored)'),
) -> JSONResponse:
    """The stored `sensor_forecast` of one sensor (refreshed by `sensor_stream_refresh_schedule`),
    from its origin (the last reading it was fitted on) up to `horizon`."""
    ahead = _duration(horizon)
    forecast = read.sensor_forecasts(sensor=sensor)
    if forecast.empty:
        raise HTTPException(
            404, detail=f"no stored forecast for sensor {sensor!r}; it appears after the stream refresh "
                        "(sensor_stream_refresh_schedule, every 15 minutes) has run on its readings"
        )
    sampling = forecast["sampling_seconds"].iloc[0]
    origin = forecast["ds"].min() - pd.Timedelta(seconds=float(sampling) if pd.notna(sampling) else 0.0)
    stored = forecast["ds"].max() - origin
    rows = forecast if ahead is None else forecast[forecast["ds"] <= origin + ahead]
    return JSONResponse({
        "sensor_id": sensor,
        "origin": origin.isoformat(),
        "horizon_seconds": (ahead or stored).total_seconds(),
        "stored_horizon_seconds": stored.total_seconds(),
        "interval_level": float(forecast["interval_level"].iloc[0]),
        "forecast": json.loads(records_text(rows[["ds", "yhat", "lower_bound", "upper_bound"]])),
    })


def _append(readings: pd.DataFrame) -> str:
    paths = settings.data_paths().ensure()
    with _one_writer:
        try:
            with SegmentWriter(paths.stream, owner={"role": "http api"}) as writer:
                writer.append(readings)
                return writer.segments_written[-1]
        except WriterBusyError as busy:
            raise HTTPException(
                409, detail=f"{busy}; the stream takes one writer at a time, so readings can be posted "
                            "only while no generator (tsplatform stream) is running"
            ) from busy


def _duration(text: str | None) -> pd.Timedelta | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        ahead = pd.Timedelta(seconds=float(text)) if text.replace(".", "", 1).isdigit() else pd.Timedelta(text)
    except ValueError:
        raise HTTPException(400, detail=f'horizon {text!r} is not a duration; use e.g. "30min", "6h", "1D" or seconds') from None
    if ahead <= pd.Timedelta(0):
        raise HTTPException(400, detail="horizon must be positive")
    return ahead
