"""The row rules of an invoice upload, as a pandera schema, and the split into valid and quarantined rows.

The schema runs on *parsed* rows that still carry their raw text, so a rule can tell "empty"
(missing sales, imputed later) from "not a number" (quarantined). Each check has a name and a
message template; a quarantined row's reason lists every rule it broke, with the offending text.

Speed without a second rule book: an upload of a million rows holds a few hundred distinct dates
and a few thousand products. Each distinct text is parsed once, the text columns stay categorical,
and pandera validates a column's *distinct* values (its column rules look at one value at a time),
then the verdict is spread back to the rows by their codes. Rules that read several columns
(``sales_is_number``) run on the whole frame, which is all numbers and codes by then.

The invoice key is a calendar day. A date column that carries a time of day (``2010-12-01 08:26:00``)
is truncated to its day, so the lines of one product at different times of one day become lines of
one key (summed later, like any repeated key). The day is the one in the upload's time zone
(``--timezone``, UTC by default): a timestamp with an offset (``%z``) is converted to that zone
first; a naive timestamp is already that zone's wall-clock time and is just truncated.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tsplatform.ingest.options import DEFAULT_DATE_FORMAT, DEFAULT_TIMEZONE, zone_of
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
            f"Rows of an invoice upload. Date parses with {date_format} (a time of day is cut to its day); "
            "product_id and category non-empty after "
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

    def pop_valid(self) -> pd.DataFrame:
        """The valid rows, handed over: this result keeps none, so they are freed with their last user."""
        valid, self.valid = self.valid, self.valid.iloc[:0]
        return valid


def parse_rows(raw: RawUpload, date_format: str, timezone: str = DEFAULT_TIMEZONE) -> pd.DataFrame:
    """Typed columns next to the raw text they came from; text columns are categoricals."""
    rows = raw.rows
    sales_raw = _stripped(rows["sales"])
    return pd.DataFrame(
        {
            "line_number": rows["line_number"].to_numpy(),
            "date": _parse_distinct(rows["Date"], lambda text: parse_days(text, date_format, timezone)),
            "product_id": _stripped(rows["product_id"]),
            "category": _stripped(rows["category"]),
            "sales": _parse_distinct(sales_raw, lambda text: pd.to_numeric(text, errors="coerce").astype("float64")),
            "sales_raw": sales_raw,
        },
        index=rows.index,
    )


def parse_days(text: pd.Series, date_format: str, timezone: str = DEFAULT_TIMEZONE) -> pd.Series:
    """The calendar day of each text in ``timezone``, as naive midnight datetimes (NaT where the text
    does not match ``date_format``). Offsets (``%z``, ``%Z``) are converted to the zone first."""
    text = text.str.strip()
    if "%z" in date_format or "%Z" in date_format:
        moments = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
        local = moments.dt.tz_convert(zone_of(timezone)).dt.tz_localize(None)
    else:
        local = pd.to_datetime(text, format=date_format, errors="coerce")
    return local.dt.normalize()


def _distinct(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(code of each row, distinct values as text): free for a categorical, a hash pass otherwise."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), pd.Series(column.cat.categories, dtype=object)
    codes, uniques = pd.factorize(column)
    return codes, pd.Series(uniques, dtype=object)


def _parse_distinct(column: pd.Series, parse) -> np.ndarray:
    """``parse`` applied to each distinct value once, then taken back to every row."""
    codes, values = _distinct(column)
    return np.asarray(parse(values)).take(codes)


def _stripped(column: pd.Series) -> pd.Series:
    """Trimmed text as a categorical whose categories are sorted, so it sorts like the strings."""
    codes, values = _distinct(column)
    stripped_codes, categories = pd.factorize(values.str.strip(), sort=True)
    return pd.Series(pd.Categorical.from_codes(stripped_codes.take(codes), categories=categories), index=column.index)


def validate_rows(
    raw: RawUpload,
    date_format: str = DEFAULT_DATE_FORMAT,
    allow_negative_sales: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> ValidationResult:
    parsed = parse_rows(raw, date_format, timezone)
    schema = invoice_row_schema(date_format, allow_negative_sales)
    failed_checks = _failed_checks_by_row(schema, parsed)

    bad_positions = np.array(sorted(failed_checks), dtype=int)
    good_mask = np.ones(len(parsed), dtype=bool)
    good_mask[bad_positions] = False
    valid = parsed.loc[good_mask, ["line_number", "date", "product_id", "category", "sales"]].reset_index(drop=True)

    rejected = _rejected_records(raw, failed_checks, date_format)
    rejected += [_ragged_record(raw, line, fields) for line, fields in raw.ragged]
    rejected_frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS).sort_values("line_number", ignore_index=True)
    return ValidationResult(valid=valid, rejected=rejected_frame)


REJECTED_COLUMNS = ["line_number", "raw_date", "raw_product_id", "raw_category", "raw_sales", "raw_record", "reason"]


def _failed_checks_by_row(schema: pa.DataFrameSchema, parsed: pd.DataFrame) -> dict[int, list[str]]:
    """Row position -> names of the checks it failed (lazy pandera passes over all rules)."""
    failed: dict[int, list[str]] = {}
    for name, column in schema.columns.items():
        codes, values = _validation_values(parsed[name])
        for check, positions in _failure_cases(column, values.to_frame(name)):
            _add_failures(failed, check, positions if codes is None else _rows_with_codes(codes, positions, len(values)))
    frame_rules = schema.remove_columns(list(schema.columns))
    reads_sales_only = all(check.name in SALES_TEXT_RULES for check in frame_rules.checks)
    codes, values = _frame_rule_values(parsed) if reads_sales_only else (None, parsed)
    for check, positions in _failure_cases(frame_rules, values):
        _add_failures(failed, check, positions if codes is None else _rows_with_codes(codes, positions, len(values)))
    return failed


# the frame rules known to read nothing but ``sales`` and ``sales_raw``: they may run on one row per
# distinct sales text; a frame rule not listed here runs on every row
SALES_TEXT_RULES = frozenset({"sales_is_number"})


def _frame_rule_values(parsed: pd.DataFrame) -> tuple[np.ndarray | None, pd.DataFrame]:
    """What the frame rules are run on. They read ``sales`` and the text it was parsed from, and
    ``sales`` is a function of that text: so one row per distinct sales text (the codes take the
    verdict back to the rows); the whole frame when the text is not categorical."""
    text = parsed["sales_raw"]
    if not isinstance(text.dtype, pd.CategoricalDtype):
        return None, parsed
    codes = text.cat.codes.to_numpy()
    if (codes < 0).any():
        return None, parsed
    sales = np.full(len(text.cat.categories), np.nan)
    sales[codes] = parsed["sales"].to_numpy(dtype="float64")
    return codes, pd.DataFrame({"sales": sales, "sales_raw": pd.Series(text.cat.categories, dtype=object)})


def _validation_values(column: pd.Series) -> tuple[np.ndarray | None, pd.Series]:
    """What a column rule is run on: the distinct values of a text column, the column itself otherwise
    (numbers and dates are checked in bulk already)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), pd.Series(column.cat.categories, dtype=object)
    return None, column


def _failure_cases(schema, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(check name, failing positions in ``frame``) for every rule ``frame`` breaks."""
    try:
        schema.validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    unexpected = cases[~cases["check"].isin(REASONS)]
    if len(unexpected):
        raise RuntimeError(f"invoice schema failed in an unexpected way: {unexpected.head().to_dict('records')}")
    return [(check, group["index"].astype(int).to_numpy()) for check, group in cases.groupby("check", sort=False)]


def _rows_with_codes(codes: np.ndarray, value_positions: np.ndarray, num_values: int) -> np.ndarray:
    failing = np.zeros(num_values, dtype=bool)
    failing[value_positions] = True
    return np.flatnonzero(failing[codes])


def _add_failures(failed: dict[int, list[str]], check: str, positions: np.ndarray) -> None:
    for position in positions.tolist():
        names = failed.setdefault(position, [])
        if check not in names:
            names.append(check)


def _rejected_records(raw: RawUpload, failed_checks: dict[int, list[str]], date_format: str) -> list[dict]:
    positions = sorted(failed_checks)
    rows = raw.rows.iloc[positions].to_dict("records")  # one take, not one lookup per bad row
    return [_rejected_record(raw, row, failed_checks[position], date_format) for position, row in zip(positions, rows)]


def _rejected_record(raw: RawUpload, row: dict, checks: list[str], date_format: str) -> dict:
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
        "raw_record": raw.record_json(row),
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
