"""Imputation: forward fill per product in date order from the last real value (batch or table), then 0; merges."""

import numpy as np
import pandas as pd

from tsplatform.ingest.imputation import impute_missing_sales, merge_duplicate_keys


def frame(rows):
    df = pd.DataFrame(rows, columns=["date", "product_id", "category", "sales"])
    df["date"] = pd.to_datetime(df["date"])
    df.insert(0, "line_number", range(2, 2 + len(df)))
    return df


def test_forward_fill_is_per_product_and_in_date_order_then_zero():
    rows = frame(
        [
            ("2024-01-03", "p1", "A", np.nan),
            ("2024-01-01", "p1", "A", 5.0),
            ("2024-01-02", "p2", "A", np.nan),
            ("2024-01-02", "p1", "B", 7.0),
            ("2024-01-03", "p2", "A", 3.0),
        ]
    )
    result = impute_missing_sales(rows)
    by_key = result.rows.set_index(["date", "product_id", "category"])
    assert by_key.loc[(pd.Timestamp("2024-01-03"), "p1", "A"), "sales"] == 5.0  # from p1/A, not p1/B
    assert by_key.loc[(pd.Timestamp("2024-01-02"), "p2", "A"), "sales"] == 0.0  # nothing earlier
    assert result.rows["is_imputed"].sum() == 2
    assert (result.num_missing, result.num_filled_with_zero) == (2, 1)


def test_leading_gaps_start_from_the_last_value_already_stored():
    rows = frame([("2024-02-01", "p1", "A", np.nan), ("2024-02-02", "p1", "A", np.nan), ("2024-02-01", "p9", "A", np.nan)])

    def last_known(wanted):  # p1/A holds a real 42 on 2024-01-20
        found = [(pd.Timestamp("2024-01-20"), 42.0) if r.product_id == "p1" else (pd.NaT, np.nan) for r in wanted.itertuples()]
        return pd.DataFrame(found, columns=["date", "sales"])

    result = impute_missing_sales(rows, last_known)
    values = result.rows.set_index("product_id")["sales"]
    assert values.loc["p1"].tolist() == [42.0, 42.0]
    assert values.loc["p9"] == 0.0
    assert (result.num_filled_from_history, result.num_filled_with_zero) == (2, 1)


def test_repeated_invoice_lines_are_summed_and_counted():
    rows = frame([("2024-01-01", "p1", "A", 1.0), ("2024-01-01", "p1", "A", 2.5), ("2024-01-02", "p1", "A", 4.0)])
    rows["is_imputed"] = [False, True, False]
    merged, folded = merge_duplicate_keys(rows)
    assert folded == 1
    first = merged[merged["date"] == pd.Timestamp("2024-01-01")].iloc[0]
    assert first["sales"] == 3.5 and bool(first["is_imputed"]) and first["line_number"] == 2
