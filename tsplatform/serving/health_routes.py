"""``GET /health``: can this server answer (warehouse, Dagster instance), and how fresh is the stream."""

from __future__ import annotations

import datetime as dt
import os
from typing import Literal

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tsplatform import read

router = APIRouter(tags=["health"])
WAREHOUSE_WAIT_SECONDS = 3.0  # a health check answers in seconds, busy warehouse or not


class WarehouseHealth(BaseModel):
    ok: bool
    url: str
    detail: str | None = Field(None, description="why it cannot be reached")


class DagsterHealth(BaseModel):
    ok: bool | None = Field(description="null: DAGSTER_HOME is not set, so there is no instance to check")
    home: str | None = None
    detail: str | None = None


class StreamFreshness(BaseModel):
    newest_reading: dt.datetime | None
    age_seconds: float | None = Field(description="how old the newest stored sensor reading is")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    warehouse: WarehouseHealth
    dagster: DagsterHealth
    stream: StreamFreshness


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the warehouse or the Dagster instance cannot be reached"}},
)
def health() -> JSONResponse:
    """200 when the warehouse and (with DAGSTER_HOME set) the Dagster instance answer, else 503;
    `stream.age_seconds` is how old the newest stored sensor reading is."""
    warehouse, stream = _warehouse_and_stream()
    dagster = _dagster()
    healthy = warehouse["ok"] and dagster["ok"] is not False
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "warehouse": warehouse, "dagster": dagster, "stream": stream},
        status_code=200 if healthy else 503,
    )


def _warehouse_and_stream() -> tuple[dict, dict]:
    place = read.warehouse_address()
    try:
        newest = read.newest_reading_time(timeout=WAREHOUSE_WAIT_SECONDS)
    except Exception as problem:  # whatever it is, the answer is "not reachable" and why
        return {"ok": False, "url": place, "detail": _first_line(problem)}, {"newest_reading": None, "age_seconds": None}
    age = None if newest is None else round((pd.Timestamp.now(tz="UTC") - newest).total_seconds(), 3)
    return (
        {"ok": True, "url": place},
        {"newest_reading": None if newest is None else newest.isoformat(), "age_seconds": age},
    )


def _dagster() -> dict:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return {"ok": None, "detail": "DAGSTER_HOME is not set: no instance to check"}
    try:
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)  # touches the run storage, not just the config
    except Exception as problem:
        return {"ok": False, "home": home, "detail": _first_line(problem)}
    return {"ok": True, "home": home}


def _first_line(error: BaseException) -> str:
    return f"{type(error).__name__}: " + (str(error).strip().splitlines() or [""])[0]

