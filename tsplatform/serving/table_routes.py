"""``GET /metadata``, ``/invoice-data``, ``/forecast-data``: the invoice and forecast tables, paged,
as JSON or CSV. Every read is one ``tsplatform.read`` call."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from tsplatform import read
from tsplatform.serving.common import (
    DEFAULT_PAGE,
    MAX_OFFSET,
    MAX_PAGE,
    Format,
    IsoDay,
    Text,
    table_answers,
    table_response,
)

router = APIRouter()

_LIMIT = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"rows in this answer (at most {MAX_PAGE:,})")
_OFFSET = Query(0, ge=0, le=MAX_OFFSET, description="rows to skip (paging)")
_FORMAT = Query("json", alias="format", description="json, or csv (cells a spreadsheet would run as formulas are quoted)")


@router.get("/metadata", tags=["invoices"], **table_answers("upload_metadata", 422, 503))
def metadata(limit: int = _LIMIT, offset: int = _OFFSET, fmt: Format = _FORMAT) -> Response:
    """`upload_metadata`: every upload, oldest first, with status, counts, error log and notes."""
    return table_response(read.uploads(limit=limit, offset=offset), "upload_metadata", fmt)


@router.get("/invoice-data", tags=["invoices"], **table_answers("invoice_data", 422, 503))
def invoice_data(
    category: Text | None = Query(None, examples=["Books"]),
    start_date: IsoDay | None = Query(None, description="first day, YYYY-MM-DD"),
    end_date: IsoDay | None = Query(None, description="last day, YYYY-MM-DD"),
    limit: int = _LIMIT,
    offset: int = _OFFSET,
    fmt: Format = _FORMAT,
) -> Response:
    """`invoice_data`, ordered by date, category, product."""
    frame = read.invoices(category=category, start=start_date, end=end_date, limit=limit, offset=offset)
    return table_response(frame, "invoice_data", fmt)


@router.get("/forecast-data", tags=["forecasts"], **table_answers("forecast_data", 400, 422, 503))
def forecast_data(
    category: Text | None = Query(None, examples=["Books"]),
    model_type: Text | None = Query(
        None, description="prophet, sarimax, holt_winters, naive, seasonal_naive, theta or ensemble", examples=["ensemble"]
    ),
    best: bool | None = Query(None, description="true: only each category's chosen model"),
    start_date: IsoDay | None = Query(None, description="first forecast day, YYYY-MM-DD"),
    end_date: IsoDay | None = Query(None, description="last forecast day, YYYY-MM-DD"),
    limit: int = _LIMIT,
    offset: int = _OFFSET,
    fmt: Format = _FORMAT,
) -> Response:
    """`forecast_data`, ordered by category, model, day."""
    if model_type is not None and model_type not in _model_types():
        raise HTTPException(400, detail=f"unknown model_type {model_type!r}; one of {', '.join(_model_types())}")
    frame = read.forecasts(
        category=category, model=model_type, best=best, start=start_date, end=end_date, limit=limit, offset=offset
    )
    return table_response(frame, "forecast_data", fmt)


def _model_types() -> tuple[str, ...]:
    from tsplatform.forecasting.models import MODEL_NAMES

    return (*MODEL_NAMES, "ensemble")
