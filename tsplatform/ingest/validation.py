"""The row rules of an invoice upload, as a pandera schema, and the split into valid and quarantined rows.

The schema runs on *parsed* rows that still carry their raw text, so a rule can tell "empty"
(missing sales, imputed later) from "not a number" (quarantined). Each check has a name and a
message template; a quarantined row's reason lists every rule it broke, with the offending text.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tsplatform.ingest.options import DEFAULT_DATE_FORMAT
from tsplatform.ingest.reading import RawUpload

MAX_ABS_SALES = 1e10
MAX_KEY_LENGTH = 255
MAX_DAYS_IN_FUTURE = 366
MIN_DATE = pd.Timestamp("1900-01-01")

# check name -> reason template, filled from the row's raw values
REASONS = {
    "date_parses": "Date {Date!r} does not match the date format {date_format}",
    "date_in_range": "Date {Date!r} is outside the accepted range (1900-01-01 to one year from today)",
    "product_id_not_empty": "product_id is empty",
    "product_id_length": f"product_id is longer than {MAX_KEY_LENGTH} characters",
    "category_not_empty": "category is empty",
    "category_length": f"category is longer than {MAX_KEY_LENGTH} characters",
    "sales_is_number": "sales {sales_raw!r} is not a number",
    "sales_finite": "sales {sales_raw!r} is not finite",
    "sales_magnitude": "sales {sales_raw!r} is not below 1e10 in magnitude",
    "sales_not_negative": "sales {sales_raw!r} is negative (negative sales are not allowed for this upload)",
}


def invoice_row_schema(
    date_format: str = DEFAULT_DATE_FORMAT, allow_negative_sales: bool = False, today: dt.date | None = None
) -> pa.DataFrameSchema:
    """The rules every uploaded row must meet. Shown in the Dagster UI on the ``invoice_data`` check."""
    latest = pd.Timestamp(today or dt.date.today()) + pd.Timedelta(days=MAX_DAYS_IN_FUTURE)

    def key_checks(column: str) -> list[pa.Check]:
        return [
            pa.Check(lambda s: s.str.len() > 0, name=f"{column}_not_empty", description="not empty after trimming"),
            pa.Check(
                lambda s: s.str.len() <= MAX_KEY_LENGTH,
                name=f"{column}_length",
                description=f"at most {MAX_KEY_LENGTH} characters",
            ),
        ]

    sales_checks = [
        pa.Check(lambda s: ~np.isinf(s), name="sales_finite", description="finite (not inf)"),
        pa.Check(
            lambda s: ~np.isfinite(s) | (s.abs() < MAX_ABS_SALES), name="sales_magnitude", description="|sales| < 1e10"
        ),
    ]
    if not allow_negative_sales:
        sales_checks.append(pa.Check(lambda s: s >= 0, name="sales_not_negative", description=">= 0"))

    return pa.DataFrameSchema(
        name="invoice_upload_rows",
        description=(
            f"Rows of an invoice upload. Date parses with {date_format}; product_id and category non-empty after "
            f"trimming (at most {MAX_KEY_LENGTH} characters); sales numeric, finite, below 1e10 in magnitude, "
            f"{'any sign' if allow_negative_sales else 'not negative'}, or empty (missing: imputed)."
        ),
        columns={
            "date": pa.Column(
                "datetime64[ns]",
                nullable=True,
                checks=[
                    pa.Check(
                        lambda s: s.notna(), ignore_na=False, name="date_parses", description=f"parses with {date_format}"
                    ),
                    pa.Check(
                        lambda s: (s >= MIN_DATE) & (s <= latest),
                        name="date_in_range",
                        description="from 1900-01-01 to one year ahead",
                    ),
                ],
            ),
            "product_id": pa.Column(str, checks=key_checks("product_id")),
            "category": pa.Column(str, checks=key_checks("category")),
            "sales": pa.Column(float, nullable=True, checks=sales_checks),
        },
        checks=[
            pa.Check(
                lambda df: df["sales"].notna() | (df["sales_raw"] == "") | df["sales_raw"].isna(),
                name="sales_is_number",
                description="sales is a number or empty (empty = missing, imputed)",
            )
        ],
        strict=False,
        coerce=False,
    )


@dataclass
class ValidationResult:
    valid: pd.DataFrame  # line_number, date, product_id, category, sales (NaN = missing)
    rejected: pd.DataFrame  # line_number, raw_date, raw_product_id, raw_category, raw_sales, raw_record, reason


def parse_rows(raw: RawUpload, date_format: str) -> pd.DataFrame:
    """Typed columns next to the raw text they came from."""
    rows = raw.rows
    sales_raw = rows["sales"].str.strip()
    return pd.DataFrame(
        {
            "line_number": rows["line_number"].to_numpy(),
            "date": pd.to_datetime(rows["Date"].str.strip(), format=date_format, errors="coerce"),
            "product_id": rows["product_id"].str.strip(),
            "category": rows["category"].str.strip(),
            "sales": pd.to_numeric(sales_raw, errors="coerce").astype("float64"),
            "sales_raw": sales_raw,
        },
        index=rows.index,
    )


def validate_rows(
    raw: RawUpload, date_format: str = DEFAULT_DATE_FORMAT, allow_negative_sales: bool = False
) -> ValidationResult:
    parsed = parse_rows(raw, date_format)
    schema = invoice_row_schema(date_format, allow_negative_sales)
    failed_checks = _failed_checks_by_row(schema, parsed)

    bad_positions = np.array(sorted(failed_checks), dtype=int)
    good_mask = np.ones(len(parsed), dtype=bool)
    good_mask[bad_positions] = False
    valid = parsed.loc[good_mask, ["line_number", "date", "product_id", "category", "sales"]].reset_index(drop=True)

    rejected = [_rejected_record(raw, position, checks, date_format) for position, checks in sorted(failed_checks.items())]
    rejected += [_ragged_record(raw, line, fields) for line, fields in raw.ragged]
    rejected_frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS).sort_values("line_number", ignore_index=True)
    return ValidationResult(valid=valid, rejected=rejected_frame)


REJECTED_COLUMNS = ["line_number", "raw_date", "raw_product_id", "raw_category", "raw_sales", "raw_record", "reason"]


def _failed_checks_by_row(schema: pa.DataFrameSchema, parsed: pd.DataFrame) -> dict[int, list[str]]:
    """Row position -> names of the checks it failed (one lazy pass over all rules)."""
    try:
        schema.validate(parsed, lazy=True)
        return {}
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    unexpected = cases[~cases["check"].isin(REASONS)]
    if len(unexpected):
        raise RuntimeError(f"invoice schema failed in an unexpected way: {unexpected.head().to_dict('records')}")
    failed: dict[int, list[str]] = {}
    for position, check in zip(cases["index"].astype(int), cases["check"]):
        names = failed.setdefault(position, [])
        if check not in names:
            names.append(check)
    return failed


def _rejected_record(raw: RawUpload, position: int, checks: list[str], date_format: str) -> dict:
    row = raw.rows.iloc[position]
    values = {"Date": row["Date"], "sales_raw": str(row["sales"]).strip(), "date_format": date_format}
    order = list(REASONS)
    if "date_parses" in checks and _parses_outside_pandas_range(row["Date"], date_format):
        checks = [("date_in_range" if name == "date_parses" else name) for name in checks]
    reason = "; ".join(REASONS[name].format(**values) for name in sorted(checks, key=order.index))
    return {
        "line_number": int(row["line_number"]),
        "raw_date": row["Date"],
        "raw_product_id": row["product_id"],
        "raw_category": row["category"],
        "raw_sales": row["sales"],
        "raw_record": raw.raw_record(position),
        "reason": reason,
    }


def _parses_outside_pandas_range(text: str, date_format: str) -> bool:
    """True for a well-formed date pandas cannot hold (e.g. 2999-01-01): a range problem, not a format one."""
    try:
        dt.datetime.strptime(text.strip(), date_format)
    except ValueError:
        return False
    return True


def _ragged_record(raw: RawUpload, line: int, fields: list[str]) -> dict:
    return {
        "line_number": line,
        "raw_date": None,
        "raw_product_id": None,
        "raw_category": None,
        "raw_sales": None,
        "raw_record": json.dumps(fields, ensure_ascii=False),
        "reason": (
            f"the line has {len(fields)} fields but the header has {len(raw.header)} "
            "(an unquoted delimiter inside a value, or a missing field)"
        ),
    }
