"""Row rules: each one quarantines the row with a reason naming the rule and the raw text."""

import pytest

from tsplatform.ingest.options import UploadOptions
from tsplatform.ingest.reading import parse_text
from tsplatform.ingest.validation import invoice_row_schema, validate_rows


def validate(*rows, date_format="%Y-%m-%d", allow_negative=False):
    raw = parse_text("Date,product_id,category,sales\n" + "\n".join(rows) + "\n", UploadOptions())
    return validate_rows(raw, date_format, allow_negative)


@pytest.mark.parametrize(
    "row, reason",
    [
        ("2026-02-30,p1,A,1", "Date '2026-02-30' does not match the date format %Y-%m-%d"),
        ("30/01/2026,p1,A,1", "does not match the date format"),
        ("2999-01-01,p1,A,1", "outside the accepted range"),
        ("1850-01-01,p1,A,1", "outside the accepted range"),
        ("2026-01-01,  ,A,1", "product_id is empty"),
        ("2026-01-01,p1, ,1", "category is empty"),
        ("2026-01-01,p1,A,abc", "sales 'abc' is not a number"),
        ("2026-01-01,p1,A,NaN", "sales 'NaN' is not a number"),
        ("2026-01-01,p1,A,inf", "sales 'inf' is not finite"),
        ("2026-01-01,p1,A,-1", "is negative"),
        ("2026-01-01,p1,A,1e10", "not below 1e10"),
        ('2026-01-01,p1,A,"1,5"', "sales '1,5' is not a number"),
        ("2026-01-01," + "x" * 300 + ",A,1", "product_id is longer than 255"),
    ],
)
def test_a_broken_rule_quarantines_the_row_with_its_reason(row, reason):
    result = validate(row, "2026-01-02,p2,B,2")
    assert len(result.valid) == 1 and result.valid.loc[0, "product_id"] == "p2"
    assert len(result.rejected) == 1
    rejected = result.rejected.iloc[0]
    assert reason in rejected["reason"]
    assert rejected["line_number"] == 2


def test_every_broken_rule_is_listed_and_raw_values_are_kept():
    result = validate("2026-13-01, ,A,abc")
    rejected = result.rejected.iloc[0]
    assert rejected["reason"].count(";") == 2  # date, product_id, sales
    assert (rejected["raw_date"], rejected["raw_product_id"], rejected["raw_sales"]) == ("2026-13-01", " ", "abc")
    assert '"sales": "abc"' in rejected["raw_record"]


def test_accepted_values_empty_sales_scientific_notation_padding_and_negative_when_allowed():
    result = validate("2026-01-01, p1 , A ,", "2026-01-02,p1,A,1.5e3", "2026-01-03,p1,A,-4", allow_negative=True)
    assert result.rejected.empty
    assert result.valid["product_id"].tolist() == ["p1"] * 3 and result.valid["category"].tolist() == ["A"] * 3
    assert result.valid["sales"].isna().tolist() == [True, False, False]
    assert result.valid["sales"].tolist()[1:] == [1500.0, -4.0]


def test_other_date_formats_parse_with_the_batch_format():
    result = validate("01/31/2026,p1,A,1", date_format="%m/%d/%Y")
    assert result.rejected.empty
    assert str(result.valid.loc[0, "date"].date()) == "2026-01-31"


def test_hostile_strings_are_data_not_code():
    result = validate("2026-01-01,\"'; DROP TABLE invoice_data; --\",<script>alert(1)</script>,1", "2026-01-01,p,=cmd|' /C calc'!A0,2")
    assert result.rejected.empty
    assert result.valid["category"].tolist() == ["<script>alert(1)</script>", "=cmd|' /C calc'!A0"]


def test_schema_describes_its_rules_for_the_ui():
    schema = invoice_row_schema("%d.%m.%Y")
    assert "%d.%m.%Y" in schema.description
    assert {"date", "product_id", "category", "sales"} <= set(schema.columns)


def test_a_frame_rule_not_known_to_read_only_the_sales_text_runs_on_every_row(monkeypatch):
    """The distinct-sales-text shortcut holds only for rules listed in SALES_TEXT_RULES: a new frame
    rule that reads another column sees every row, so its verdict is per row, not per sales text."""
    import pandera.pandas as pa

    from tsplatform.ingest import validation

    monkeypatch.setitem(validation.REASONS, "toys_sell_something", "category Toys with sales {sales_raw!r}")
    raw = parse_text(
        "Date,product_id,category,sales\n2024-01-01,p1,Toys,0\n2024-01-02,p1,Books,0\n2024-01-03,p2,Toys,5\n",
        UploadOptions(),
    )
    rules = validation.invoice_row_schema()
    toys = pa.Check(lambda df: (df["category"] != "Toys") | (df["sales"] > 0), name="toys_sell_something")
    schema = pa.DataFrameSchema(columns=rules.columns, checks=[*rules.checks, toys], strict=False, coerce=False)
    failed = validation._failed_checks_by_row(schema, validation.parse_rows(raw, "%Y-%m-%d"))
    assert failed == {0: ["toys_sell_something"]}  # the Books line with the same text "0" passes
