"""``GET /charts/...``: the pages of the reports folder (forecast and sensor charts, both index
pages, the plotly.js beside them) over HTTP, so the links in the Dagster UI open in a browser.

Pages for people, not API: they stay out of the OpenAPI schema. A path is resolved inside the
reports folder or refused; a page not written yet is a 404 that says which asset writes it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from tsplatform import settings

router = APIRouter(include_in_schema=False)
SERVED_SUFFIXES = {".html", ".js"}  # what the chart writers produce: pages and plotly.min.js
WRITERS = {  # first folder under reports -> the asset that writes its pages
    "forecasts": "forecast_data (one page per category) and forecast_report (index.html)",
    "sensor_stream": "sensor_charts",
}


@router.get(settings.CHARTS_PATH)
@router.get(settings.CHARTS_PATH + "/")
def charts_root() -> Response:
    return RedirectResponse("/dashboard", status_code=307)


@router.get(settings.CHARTS_PATH + "/{page:path}")
def chart(page: str) -> Response:
    reports = settings.data_paths().reports.resolve()
    target = _inside(reports, page)
    if target.is_dir():  # a folder's index; redirected so that its relative links resolve
        if (target / "index.html").is_file():
            return RedirectResponse(f"{settings.CHARTS_PATH}/{quote(page.strip('/'))}/index.html", status_code=307)
        raise HTTPException(404, detail=_missing(page))
    if target.suffix.lower() not in SERVED_SUFFIXES or not target.is_file():
        raise HTTPException(404, detail=_missing(page))
    # pages are rewritten on every refresh: the browser asks again each time
    return FileResponse(target, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def _inside(reports: Path, page: str) -> Path:
    """``page`` as a file of ``reports``; a path that leaves it (``..``, an absolute path, a link
    pointing out) is refused, before anything is looked up."""
    parts = PurePosixPath(page).parts
    if ".." in parts or page.startswith("/") or "\\" in page or "\0" in page:
        raise HTTPException(400, detail=f"{page!r} is not a page of the reports folder: a chart path may not leave it")
    target = (reports / page).resolve()
    if any(part.startswith(".") for part in parts) or not target.is_relative_to(reports):
        raise HTTPException(404, detail=_missing(page))
    return target


def _missing(page: str) -> str:
    parts = PurePosixPath(page).parts
    writer = WRITERS.get(parts[0] if parts else "")
    hint = f"the pages of {parts[0]}/ are written by {writer}: materialise it" if writer else (
        "forecast pages are under forecasts/, sensor pages under sensor_stream/")
    return f"no chart at {page!r} ({hint}); /dashboard links every chart there is"
