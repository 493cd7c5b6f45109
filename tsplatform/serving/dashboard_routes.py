"""``GET /dashboard`` (and ``/``): one page with every category's chosen model, its accuracy and
next-30-day total, and every sensor's newest readings and recent anomalies, linking the charts.

Rendered by jinja2 with autoescaping on, so a category or sensor named ``<script>`` is text; the
page reloads itself (meta refresh) and needs no JavaScript. A page for people: not in the schema.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tsplatform import read, settings
from tsplatform.serving import dashboard_data

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 15  # the stream sensor stores readings every 30 s by default


@router.get("/")
def root() -> Response:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
def dashboard() -> HTMLResponse:
    reports = settings.data_paths().reports
    not_ready: str | None
    try:
        tables = dashboard_data.gather()
    except read.WarehouseNotReadyError as problem:  # nothing stored yet: an empty page, not an error
        categories, sensors, not_ready = [], [], str(problem)
    else:
        categories = dashboard_data.category_rows(tables.best, tables.metrics, reports)
        sensors, not_ready = dashboard_data.sensor_rows(tables, reports), None
    page = _template().render(
        generated_at=pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC"),
        refresh_seconds=REFRESH_SECONDS,
        total_days=dashboard_data.TOTAL_DAYS,
        anomaly_window=_hours(dashboard_data.RECENT_ANOMALIES),
        categories=categories,
        sensors=sensors,
        not_ready=not_ready,
        index=dashboard_data.index_pages(reports),
        number=_number,
        percent=_percent,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(loader=PackageLoader("tsplatform.serving", "templates"), autoescape=True, undefined=StrictUndefined)
    return environment.get_template("dashboard.html")


def _number(value) -> str:
    return f"{value:.3f}" if _finite(value) else ""


def _percent(value) -> str:
    return f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%" if _finite(value) else ""


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _hours(span: pd.Timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"
