"""How to read one upload: column mapping, date format, time zone, encoding, delimiter.

The options travel with the file as a JSON sidecar (``<file>.upload.json``) written by
``tsplatform upload``, so a mapping given on the command line reaches the Dagster run that reads
the file, and is recorded with the batch.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import asdict, dataclass, field
from pathlib import Path

SIDECAR_SUFFIX = ".upload.json"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_TIMEZONE = "UTC"
REQUIRED_COLUMNS = ("Date", "product_id", "category", "sales")


class InvalidOptionsError(ValueError):
    """An upload option that cannot be used (bad mapping syntax, unknown target column)."""


def normalize_header(name: str) -> str:
    """Header names are matched after trimming and case-folding."""
    return name.strip().casefold()


@dataclass(frozen=True)
class UploadOptions:
    column_mapping: dict[str, str] = field(default_factory=dict)  # source header -> required column
    date_format: str = DEFAULT_DATE_FORMAT
    encoding: str = "utf-8-sig"  # utf-8 with or without BOM
    delimiter: str = ","
    allow_negative_sales: bool = False
    # the zone whose calendar day an invoice belongs to: timestamps with an offset are converted
    # to it, naive ones are taken as its wall-clock time (see validation.parse_dates)
    timezone: str = DEFAULT_TIMEZONE

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> UploadOptions:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known).validated()

    def validated(self) -> UploadOptions:
        targets = {normalize_header(c): c for c in REQUIRED_COLUMNS}
        mapping = {}
        for source, target in self.column_mapping.items():
            if normalize_header(target) not in targets:
                raise InvalidOptionsError(
                    f"column mapping target {target!r} is not one of {', '.join(REQUIRED_COLUMNS)}"
                )
            mapping[source] = targets[normalize_header(target)]
        if len(set(mapping.values())) != len(mapping):
            raise InvalidOptionsError("column mapping sends two source columns to the same target")
        if len(self.delimiter) != 1:
            raise InvalidOptionsError(f"delimiter must be one character, got {self.delimiter!r}")
        try:
            "".encode(self.encoding)
        except LookupError as error:
            raise InvalidOptionsError(f"unknown encoding {self.encoding!r}") from error
        zone_of(self.timezone)
        return UploadOptions(
            mapping, self.date_format, self.encoding, self.delimiter, self.allow_negative_sales, self.timezone
        )


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Europe/London``), or InvalidOptionsError."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise InvalidOptionsError(
            f"unknown time zone {name!r}; use an IANA name such as UTC, Europe/London or America/New_York"
        ) from error


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """``"Order Date=Date,Product ID=product_id"`` -> ``{"Order Date": "Date", ...}``."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        source, sep, target = pair.rpartition("=")
        if not sep or not source.strip() or not target.strip():
            raise InvalidOptionsError(f"column mapping entry {pair!r} is not SOURCE=TARGET")
        mapping[source.strip()] = target.strip()
    return mapping


def sidecar_path(upload_path: Path) -> Path:
    return upload_path.with_name(upload_path.name + SIDECAR_SUFFIX)


def read_sidecar(upload_path: Path) -> UploadOptions:
    """The options stored beside ``upload_path``, or the defaults when there is none."""
    path = sidecar_path(upload_path)
    if not path.exists():
        return UploadOptions()
    return UploadOptions.from_json(path.read_text(encoding="utf-8"))
