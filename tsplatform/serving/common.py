"""What the groups of routes share: the server's settings, the token, tables as responses."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from fastapi import HTTPException
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsplatform.cli.output import csv_text
from tsplatform.ingest.registration import max_upload_bytes
from tsplatform.warehouse import catalog

TOKEN_VARIABLE = "TSPLATFORM_API_TOKEN"
UPLOAD_LIMIT_VARIABLE = "TSPLATFORM_API_MAX_UPLOAD_BYTES"
DEFAULT_UPLOAD_LIMIT = 200 * 1024 * 1024
MAX_PAGE = 100_000  # rows in one answer; page on with offset
DEFAULT_PAGE = 1000
Format = Literal["json", "csv"]

# documents the scheme in /docs; the check itself is TokenGuard's, before any body is read
bearer = HTTPBearer(auto_error=False, description=f"the server's {TOKEN_VARIABLE}, when it has one")


@dataclass(frozen=True)
class ServingSettings:
    token: str | None = None
    max_upload_bytes: int = DEFAULT_UPLOAD_LIMIT

    @classmethod
    def from_environment(cls) -> "ServingSettings":
        text = os.environ.get(UPLOAD_LIMIT_VARIABLE, "").strip()
        try:
            limit = int(text) if text else DEFAULT_UPLOAD_LIMIT
        except ValueError:
            raise ValueError(f"{UPLOAD_LIMIT_VARIABLE} must be a whole number of bytes, got {text!r}") from None
        # a file over the landing's own limit would only be refused at registration
        return cls(token=os.environ.get(TOKEN_VARIABLE) or None, max_upload_bytes=min(limit, max_upload_bytes()))


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
                detail = f"this endpoint needs the header 'Authorization: Bearer <token>' with the server's {TOKEN_VARIABLE}"
                response = JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
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
