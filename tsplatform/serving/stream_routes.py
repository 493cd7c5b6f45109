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
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from tsplatform import read, settings
from tsplatform.serving.common import (
    DEFAULT_PAGE,
    MAX_PAGE,
    NUL_REASON,
    IsoTime,
    Problem,
    Text,
    problems,
    records_text,
    table_answers,
    table_response,
    write_answers,
)
from tsplatform.stream import SegmentWriter, WriterBusyError
from tsplatform.stream.codec import parse_values

MAX_READINGS = 100_000  # per POST
READINGS_MAX_BODY_BYTES = 32 * 1024 * 1024
READINGS_BODY_LIMIT = (
    READINGS_MAX_BODY_BYTES, f"the request body is over {READINGS_MAX_BODY_BYTES:,} bytes; send fewer readings at a time"
)

router = APIRouter(prefix="/api", tags=["sensor stream"])
_one_writer = threading.Lock()  # the stream's lock is per open file: threads of one server take turns here


class Reading(BaseModel):
    """One reading, checked as a line of the stream is (a time in 1970-2200, a finite value)."""

    sensor_id: str = Field(min_length=1, examples=["sensor_1"])
    ts: dt.datetime = Field(description="ISO 8601; naive = UTC; 1970-01-01 to 2200-01-01")
    value: float = Field(description="a finite number")


class Appended(BaseModel):
    detail: str
    appended: int = Field(description="readings appended to the stream")
    segment: str | None = Field(description="the segment they went to (null when none was valid)")


class Rejection(BaseModel):
    index: int = Field(description="position in the posted list, from 0")
    reason: str


class ReadingsRefused(Problem):
    """A body that is not a list of readings (``detail`` only), or readings some of which were
    refused: those are named, the valid ones were appended."""

    rejected: list[Rejection] | None = None
    appended: int | None = None
    segment: str | None = None


class ForecastPoint(BaseModel):
    ds: dt.datetime
    yhat: float
    lower_bound: float
    upper_bound: float


class Prediction(BaseModel):
    sensor_id: str
    origin: dt.datetime = Field(description="the last reading the forecast was fitted on")
    horizon_seconds: float
    stored_horizon_seconds: float
    interval_level: float
    forecast: list[ForecastPoint]


@router.get("/readings", **table_answers("sensor_readings", 422, 503, csv=False))
def readings(
    sensor: Text | None = Query(None, description="one sensor_id (default: all)", examples=["sensor_1"]),
    since: IsoTime | None = Query(None, description="from this time on, ISO 8601 (naive = UTC)"),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="with since: the first N from then; without: the newest N"),
) -> Response:
    """Stored `sensor_readings` in time order: page forward with `since` = the last `ts` seen."""
    return table_response(read.sensor_readings(sensor=sensor, since=since, limit=limit), "sensor_readings")


@router.post(
    "/readings",
    **write_answers(
        Appended, 400, 401, 413, (409, "another process (the stream generator) is writing the stream"),
        refusals={422: (ReadingsRefused, "not a list of readings, or some readings are invalid: their positions "
                                         "and reasons (the valid ones were appended)")},
    ),
)
def append_readings(
    body: list[Any] = Body(
        ...,
        description=f"readings, at most {MAX_READINGS:,}; each invalid one is named in the answer",
        examples=[[{"sensor_id": "sensor_1", "ts": "2026-12-01T12:00:00Z", "value": 101.3}]],
        json_schema_extra={"items": Reading.model_json_schema()},
    ),
) -> JSONResponse:
    """Append readings to the stream, checked as stream lines are: each invalid one is named with
    its reason (422) and skipped, the valid ones are appended."""
    if len(body) > MAX_READINGS:
        raise HTTPException(413, detail=f"at most {MAX_READINGS:,} readings per request; send them in parts")
    valid, rejected = _parse(body)
    segment = _append(valid) if len(valid) else None
    if not rejected:
        answer = Appended(detail=f"{len(valid)} readings appended to the stream", appended=len(valid), segment=segment)
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)
    refused = ReadingsRefused(
        detail=f"{len(rejected)} of {len(body)} readings are invalid and were not appended; the other {len(valid)} were",
        rejected=[Rejection(index=index, reason=reason) for index, reason in rejected],
        appended=len(valid),
        segment=segment,
    )
    return JSONResponse(refused.model_dump(mode="json"), status_code=422)


@router.get(
    "/predict",
    response_model=Prediction,
    responses=problems(400, (404, "no stored forecast for this sensor"), 422, 503),
)
def predict(
    sensor: Annotated[Text, Query(description="sensor_id", examples=["sensor_1"])],
    horizon: str | None = Query(
        None, description='how far ahead: "30min", "6h", "1D" or seconds (default: all stored)', examples=["1h"]
    ),
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
    rows = forecast if ahead is None else forecast[forecast["ds"] - origin <= ahead]  # origin + ahead may overflow
    return JSONResponse({
        "sensor_id": sensor,
        "origin": origin.isoformat(),
        "horizon_seconds": (ahead or stored).total_seconds(),
        "stored_horizon_seconds": stored.total_seconds(),
        "interval_level": float(forecast["interval_level"].iloc[0]),
        "forecast": json.loads(records_text(rows[["ds", "yhat", "lower_bound", "upper_bound"]])),
    })


def _parse(body: list) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The stream's own rules, and one the warehouse adds: no NUL in a sensor_id (PostgreSQL text
    cannot hold it, so one such reading would fail every ingest of its segment)."""
    unstorable = {index: "sensor_id " + NUL_REASON for index, item in enumerate(body)
                  if isinstance(item, dict) and isinstance(item.get("sensor_id"), str) and "\x00" in item["sensor_id"]}
    kept = [index for index in range(len(body)) if index not in unstorable]
    valid, rejected = parse_values([body[index] for index in kept])
    return valid, sorted([(kept[position], reason) for position, reason in rejected] + list(unstorable.items()))


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
        if pd.isna(ahead):  # "nan", "NaT" parse as NaT
            raise ValueError(text)
    except ValueError:
        raise HTTPException(400, detail=f'horizon {text!r} is not a duration; use e.g. "30min", "6h", "1D" or seconds') from None
    if ahead <= pd.Timedelta(0):
        raise HTTPException(400, detail="horizon must be positive")
    return ahead
