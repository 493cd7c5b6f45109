"""``POST /upload``: a CSV over HTTP takes the path of ``tsplatform upload``, then is registered at
once (as the landing sensor would a moment later) so the answer can name its batch."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import JSONResponse
from filelock import Timeout as LandingBusy
from pydantic import BaseModel, Field

from tsplatform import settings
from tsplatform.ingest.landing import is_candidate_name
from tsplatform.ingest.options import (
    DEFAULT_DATE_FORMAT,
    DEFAULT_TIMEZONE,
    InvalidOptionsError,
    UploadOptions,
    parse_column_mapping,
)
from tsplatform.ingest.registration import land_and_register
from tsplatform.serving.common import UPLOAD_LIMIT_VARIABLE, Problem, ServingSettings, Text, write_answers
from tsplatform.warehouse import open_warehouse
from tsplatform.warehouse.errors import is_transient

_MULTIPART_ALLOWANCE = 1024 * 1024  # boundaries and the option fields around the file
_MAX_NAME_LENGTH = 200


class _Batch(BaseModel):
    detail: str
    batch_num: str = Field(description="the batch as GET /metadata names it")
    original_filename: str
    file_hash: str = Field(description="SHA-256 of the content")


class Registered(_Batch):
    status: Literal["uploaded"]


class Duplicate(_Batch):
    """The upload is kept in duplicates/ as a batch of its own; its content is not ingested again."""

    status: Literal["duplicate"]
    duplicate_of: str = Field(description="the batch that holds this content")


class UploadRefused(Problem):
    """A request that is not an upload (``detail`` only), or a file registration refused (its batch)."""

    batch_num: str | None = None
    original_filename: str | None = None
    file_hash: str | None = None
    status: Literal["failed"] | None = None


def router(config: ServingSettings) -> APIRouter:
    """Built per app: its limit is the configured one."""
    routes = APIRouter(tags=["invoices"])

    @routes.post(
        "/upload",
        **write_answers(
            Registered, (400, "bad upload options or file name"), 401, (413, f"the file is over the limit ({UPLOAD_LIMIT_VARIABLE})"), 503,
            refusals={
                409: (Duplicate, "the same content (SHA-256) was uploaded before; names the original batch"),
                422: (UploadRefused, "no file part, or the file could not be registered"),
            },
        ),
    )
    def upload(
        file: UploadFile = File(..., description="the CSV export"),
        columns: Text | None = Form(
            None, description='source header -> required column, e.g. "Order Date=Date,Product ID=product_id,Category=category,Sales=sales"'
        ),
        date_format: Annotated[Text, Form(description="strptime format of the date column")] = DEFAULT_DATE_FORMAT,
        timezone: Annotated[Text, Form(description="IANA zone whose calendar day an invoice belongs to")] = DEFAULT_TIMEZONE,
        encoding: Annotated[Text, Form(description="text encoding of the file")] = UploadOptions.encoding,
        delimiter: Annotated[Text, Form(description="field delimiter")] = UploadOptions.delimiter,
        allow_negative: bool = Form(False, description="accept negative sales (returns, corrections)"),
    ) -> JSONResponse:
        """Land a CSV with the options of `tsplatform upload`; 202 with its batch id. Its run is
        asked for by the landing sensor (or `tsplatform ingest`); `GET /metadata` follows it."""
        name = _landing_name(file.filename)
        try:
            options = UploadOptions(
                parse_column_mapping(columns), date_format, encoding, delimiter, allow_negative, timezone
            ).validated()
        except InvalidOptionsError as problem:
            raise HTTPException(400, detail=str(problem)) from problem
        if file.size is not None and file.size > config.max_upload_bytes:
            raise HTTPException(413, detail=too_large_message(config))
        file.file.seek(0)
        try:
            registration = land_and_register(
                file.file, name, options, settings.data_paths(), open_warehouse(settings.warehouse_url())
            )
        except LandingBusy as problem:  # nothing copied yet: the lock comes first
            raise HTTPException(
                503, detail="the landing folder is busy (another registration holds its lock); send the file again",
                headers={"Retry-After": "30"},
            ) from problem
        except Exception as problem:
            if not is_transient(problem):
                raise
            raise HTTPException(
                503,
                detail="the warehouse is busy, so the file could not be registered now; it was left in landing and "
                "the landing sensor registers it (sending it again is answered 409 once it is registered)",
                headers={"Retry-After": "30"},
            ) from problem
        answer = {
            "batch_num": registration.batch_num,
            "original_filename": registration.original_filename,
            "file_hash": registration.file_hash,
            "status": registration.status,
        }
        if registration.status == "duplicate":
            return JSONResponse(
                {"detail": f"this content was already uploaded as batch {registration.duplicate_of}; "
                           f"kept as duplicate {registration.batch_num}, not ingested again",
                 "duplicate_of": registration.duplicate_of, **answer},
                status_code=409,
            )
        if registration.status == "failed":
            return JSONResponse({"detail": registration.error, **answer}, status_code=422)
        return JSONResponse(
            {"detail": "registered; its ingest run follows (GET /metadata shows the batch)", **answer}, status_code=202
        )

    return routes


def body_limit(config: ServingSettings) -> tuple[int, str]:
    """The request body may hold the file and the multipart framing around it."""
    return config.max_upload_bytes + _MULTIPART_ALLOWANCE, too_large_message(config)


def too_large_message(config: ServingSettings) -> str:
    return f"the file is over the upload limit of {config.max_upload_bytes:,} bytes ({UPLOAD_LIMIT_VARIABLE})"


def _landing_name(filename: str | None) -> str:
    """The upload's own file name, without any folder a client put in it."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    if not name:
        raise HTTPException(400, detail="the file part has no file name; send it as a file (multipart field 'file')")
    if len(name) > _MAX_NAME_LENGTH or any(ord(c) < 32 for c in name) or not is_candidate_name(name):
        raise HTTPException(
            400, detail=f"unusable file name {name[:80]!r}: a plain name, not hidden (.), not a temporary name (.tmp, .part...)"
        )
    return name
