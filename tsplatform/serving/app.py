"""The HTTP API's app: routes, the token, and errors a person can read.

Every error is ``{"detail": "<message>"}``; an unexpected one is logged here with its traceback
and answered 500 without it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tsplatform import read
from tsplatform.serving import (  # pages for people, outside the schema
    chart_routes,
    dashboard_routes,
    health_routes,
    stream_routes,
    table_routes,
    upload_routes,
)
from tsplatform.serving.common import (
    UNREADABLE_BODY,
    BodyLimit,
    ServingSettings,
    TokenGuard,
    allowed_methods,
    unreadable_body,
)

log = logging.getLogger("tsplatform.serving")

_DESCRIPTION = """Uploads, the invoice and forecast tables, and the sensor stream of tsplatform.

Reads are open; writes (`POST`) need `Authorization: Bearer <token>` when the server was started
with `TSPLATFORM_API_TOKEN`. Tables answer in pages (`limit`, `offset`), as JSON or `format=csv`.
"""


def create_app(config: ServingSettings | None = None) -> FastAPI:
    """The app, configured from the environment unless ``config`` is given."""
    config = config or ServingSettings.from_environment()
    app = FastAPI(title="tsplatform", description=_DESCRIPTION, version=_version())
    app.add_middleware(BodyLimit, limits={
        "/upload": upload_routes.body_limit(config), "/api/readings": stream_routes.READINGS_BODY_LIMIT,
    })
    app.add_middleware(TokenGuard, token=config.token)  # added last, runs first: no body read for a refusal
    app.include_router(upload_routes.router(config))
    for routes in (table_routes.router, stream_routes.router, health_routes.router, chart_routes.router,
                   dashboard_routes.router):
        app.include_router(routes)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        detail = str(error.detail)
        if error.status_code == 400 and detail == UNREADABLE_BODY:
            detail = unreadable_body(request.headers.get("content-type", ""))
        headers = dict(error.headers or {})
        if error.status_code == 405 and (allow := allowed_methods(request, headers.get("Allow"))):
            headers["Allow"] = allow
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _describe_validation(error)}, status_code=422)

    @app.exception_handler(read.WarehouseBusyError)
    async def busy(request: Request, error: read.WarehouseBusyError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(read.WarehouseNotReadyError)
    async def not_ready(request: Request, error: read.WarehouseNotReadyError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse(
            {"detail": "the server failed to answer this request (an internal error, written to its log)"},
            status_code=500,
        )


def _describe_validation(error: RequestValidationError) -> str:
    """``query parameter 'limit': Input should be less than or equal to 100000; ...``"""
    places = {"query": "query parameter", "path": "path parameter", "header": "header", "body": "form field"}
    parts = []
    for problem in error.errors():
        where, *names = [str(part) for part in problem.get("loc", ())] or ["request"]
        if problem.get("type") == "json_invalid":
            reason = (problem.get("ctx") or {}).get("error", "")
            parts.append(f"the request body is not JSON ({reason} at character {names[0] if names else '?'})")
            continue
        if where == "body" and (not names or names[0].isdigit()):
            label = "request body" + (f" item {names[0]}" if names else "")
        else:
            label = f"{places.get(where, where)} {'.'.join(repr(n) for n in names)}".strip()
        parts.append(f"{label}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tsplatform")
    except PackageNotFoundError:
        return "0"
