"""What the groups of routes share: the server's settings, the token, tables as responses, and
the models that make the OpenAPI schema say what every answer looks like (the API is fuzzed
against that schema: tsplatform_tests/serving/test_api_fuzz.py)."""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsplatform.cli.output import csv_text
from tsplatform.ingest.registration import max_upload_bytes
from tsplatform.settings import number_setting
from tsplatform.warehouse import catalog

TOKEN_VARIABLE = "TSPLATFORM_API_TOKEN"
UPLOAD_LIMIT_VARIABLE = "TSPLATFORM_API_MAX_UPLOAD_BYTES"
DEFAULT_UPLOAD_LIMIT = 200 * 1024 * 1024
MAX_PAGE = 100_000  # rows in one answer; page on with offset
DEFAULT_PAGE = 1000
MAX_OFFSET = 10**15  # far past any table, and inside the 64-bit OFFSET both backends take
Format = Literal["json", "csv"]


def _iso_only(kind: str, example: str) -> BeforeValidator:
    """Pydantic also reads a bare number as a Unix time (``start_date=0`` is 1970-01-01): a
    parameter that says ISO 8601 takes ISO 8601 only."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and not re.match(r"\d{4}-\d\d-\d\d", value.strip()):
            raise ValueError(f"use an ISO 8601 {kind} such as {example}")
        return value

    return BeforeValidator(check)


IsoDay = Annotated[dt.date, _iso_only("day", "2026-12-01")]
IsoTime = Annotated[dt.datetime, _iso_only("time", "2026-12-01T12:00:00Z")]
NUL_REASON = "holds a NUL character, which PostgreSQL text cannot store"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REASON)
    return value


# A string the warehouse is asked about or stores. Declare a required or defaulted one as
# ``Annotated[Text, Query(...)]``: FastAPI drops the validator of ``x: Text = Query(...)`` (not of ``Text | None``).
Text = Annotated[str, AfterValidator(_no_nul)]

# documents the scheme in /docs; the check itself is TokenGuard's, before any body is read
bearer = HTTPBearer(auto_error=False, description=f"the server's {TOKEN_VARIABLE}, when it has one")


@dataclass(frozen=True)
class ServingSettings:
    token: str | None = None
    max_upload_bytes: int = DEFAULT_UPLOAD_LIMIT

    @classmethod
    def from_environment(cls) -> ServingSettings:
        limit = int(number_setting(UPLOAD_LIMIT_VARIABLE, DEFAULT_UPLOAD_LIMIT, "bytes"))
        # a file over the landing's own limit would only be refused at registration
        return cls(token=os.environ.get(TOKEN_VARIABLE) or None, max_upload_bytes=min(limit, max_upload_bytes()))


TOKEN_MISSING = f"this endpoint needs the header 'Authorization: Bearer <token>' with the server's {TOKEN_VARIABLE}"


class TokenGuard:
    """Refuses a write (any method but GET/HEAD/OPTIONS) without the bearer token, before its body
    is read: FastAPI reads a request body before it runs a route's dependencies."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.token and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            scheme, _, given = (Headers(scope=scope).get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
                response = JSONResponse({"detail": TOKEN_MISSING}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 with a readable reason for a body over its route's limit (``{path: (bytes, reason)}``):
    refused on its Content-Length before any of it is read, or as soon as a streamed body passes
    the limit, so an oversized upload is never spooled to disk whole."""

    def __init__(self, app: ASGIApp, limits: dict[str, tuple[int, str]]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.limits:
            await self.app(scope, receive, send)
            return
        limit, reason = self.limits[scope["path"]]
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"detail": reason}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, detail=reason)  # FastAPI passes an HTTPException on to its handler
            return message

        await self.app(scope, counted, send)


def table_response(frame: pd.DataFrame, table: str, fmt: Format = "json") -> Response:
    """Rows as JSON records or as CSV (formula cells neutralised, as the CLI writes them). Days
    read ``2026-12-01``; times are UTC and say so."""
    frame = _readable_times(frame, table)
    if fmt == "csv":
        return Response(
            csv_text(frame), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
        )
    return json_records(frame)


def json_records(frame: pd.DataFrame) -> Response:
    return Response(records_text(frame), media_type="application/json")


def records_text(frame: pd.DataFrame) -> str:
    """A frame as a JSON list of records (missing values ``null``, times ISO 8601 to the
    microsecond, numbers to 15 decimals: pandas' default of 10 rounds stored values)."""
    return frame.to_json(orient="records", date_format="iso", date_unit="us", double_precision=15, force_ascii=False)


def _readable_times(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    types = {column.name: column.type.upper() for column in catalog.table_columns(table)}
    frame = frame.copy()
    for name in frame.columns:
        if not pd.api.types.is_datetime64_any_dtype(frame[name]):
            continue
        if types.get(name) == "DATE":
            frame[name] = frame[name].dt.strftime("%Y-%m-%d")
        elif frame[name].dt.tz is None:  # every stored TIMESTAMP is UTC
            frame[name] = frame[name].dt.tz_localize("UTC")
    return frame


UNREADABLE_BODY = "There was an error parsing the body"  # FastAPI's 400 for a body it cannot decode


def allowed_methods(request: Request, named: str | None) -> str | None:
    """The ``Allow`` of a 405: the methods the schema declares for this path (HEAD with GET).
    Starlette names only the first route's, and the GET and the POST of one path are two routes;
    a path outside the schema keeps Starlette's ``named``."""
    declared = request.app.openapi()["paths"].get(request.scope["path"])
    if not declared:
        return named
    methods = {method.upper() for method in declared} | ({"HEAD"} if "get" in declared else set())
    return ", ".join(sorted(methods))


def unreadable_body(content_type: str) -> str:
    """FastAPI's words for a body it could not decode, said so a client knows what to fix."""
    if content_type.lower().startswith("multipart/"):
        return "the request body is not a readable multipart/form-data form (send the CSV as the file part 'file')"
    return "the request body cannot be read: JSON must be UTF-8 text"


# -- what the answers look like, for the schema ----------------------------------------------


class Problem(BaseModel):
    """Every error answer: one sentence for a person, never a traceback."""

    detail: str = Field(description="why the request was not answered as asked")


_PROBLEMS = {
    400: "a parameter, the file name or the body cannot be used as sent",
    401: f"no or wrong bearer token (when the server has a {TOKEN_VARIABLE})",
    404: "nothing stored for what was asked",
    409: "the write conflicts with what is stored or with another writer",
    413: "the request body is over this endpoint's limit",
    422: "a parameter or the body does not have the expected form",
    503: "the warehouse is busy (a writer holds it) or has not been created yet; try again",
}


def problems(*codes: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the errors a route answers, each a :class:`Problem`: a code (its usual
    description) or ``(code, description)``."""
    responses: dict[int | str, dict[str, Any]] = {}
    for entry in codes:
        code, description = entry if isinstance(entry, tuple) else (entry, _PROBLEMS[entry])
        responses[code] = {"model": Problem, "description": description}
        if code == 401:  # TokenGuard names the scheme to use
            responses[code]["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
    return responses


def write_answers(
    accepted: type[BaseModel], *codes: int | tuple[int, str], refusals: Mapping[int, tuple[type[BaseModel], str]]
) -> dict[str, Any]:
    """``status_code``, ``dependencies``, ``response_model`` and ``responses`` of a route that writes:
    202 with ``accepted``, behind the bearer token; a :class:`Problem` for each of ``codes`` (as in
    :func:`problems`) and the refusals with a model of their own (``{code: (model, description)}``)."""
    return {
        "status_code": 202,
        "dependencies": [Depends(bearer)],
        "response_model": accepted,
        "responses": {
            **problems(*codes),
            **{code: {"model": model, "description": description} for code, (model, description) in refusals.items()},
        },
    }


_TYPES = {"VARCHAR": str, "TEXT": str, "INTEGER": int, "BIGINT": int, "DOUBLE PRECISION": float, "DOUBLE": float,
          "BOOLEAN": bool, "DATE": dt.date, "TIMESTAMP": dt.datetime}


@cache
def row_model(table: str) -> type[BaseModel]:
    """One JSON row of a warehouse table, built from its columns as the migrations define them
    (so the schema cannot drift from the table); nullable columns may be ``null``."""
    fields: dict[str, Any] = {}
    for column in catalog.table_columns(table):
        kind = _TYPES[column.type]
        fields[column.name] = (kind | None if column.nullable else kind, ...)
    name = "".join(part.title() for part in table.split("_")) + "Row"
    return create_model(name, __config__=ConfigDict(protected_namespaces=()), **fields)


def table_answers(table: str, *codes: int, csv: bool = True) -> dict[str, Any]:
    """``response_model`` and ``responses`` of a table route: rows as JSON (or CSV), and the
    errors it can answer."""
    ok: dict[int, dict[str, Any]] = {200: {"description": "the rows" + (", as JSON records or CSV (format=csv)" if csv else "")}}
    if csv:
        ok[200]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    model = row_model(table)
    return {"response_model": list[model], "responses": {**ok, **problems(*codes)}}  # type: ignore[valid-type]  # built at run time
