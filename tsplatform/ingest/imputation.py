"""Fill missing sales and fold repeated invoice lines into one row per key.

Missing sales are forward-filled per (product_id, category) in date order, starting from the
product's last known value already in the invoice table (looked up by the caller, which owns the
database), then 0. Rows filled either way are flagged ``is_imputed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

KEY = ["date", "product_id", "category"]
SERIES_KEY = ["product_id", "category"]

# (product_id, category, date) of rows still missing -> last known sales strictly before that date (NaN if none)
LastKnownLookup = Callable[[pd.DataFrame], pd.Series]


@dataclass
class ImputationResult:
    rows: pd.DataFrame  # line_number, date, product_id, category, sales, is_imputed
    num_missing: int
    num_filled_from_history: int  # seeded from the invoice table
    num_filled_with_zero: int


def impute_missing_sales(valid: pd.DataFrame, last_known: LastKnownLookup | None = None) -> ImputationResult:
    rows = valid.sort_values([*SERIES_KEY, "date", "line_number"], ignore_index=True)
    missing = rows["sales"].isna()
    rows["is_imputed"] = missing
    num_missing = int(missing.sum())
    if not num_missing:
        return ImputationResult(rows, 0, 0, 0)

    rows["sales"] = rows.groupby(SERIES_KEY, sort=False)["sales"].ffill()
    still_missing = rows["sales"].isna()
    from_history = 0
    if still_missing.any() and last_known is not None:
        seeds = last_known(rows.loc[still_missing, [*SERIES_KEY, "date"]].reset_index(drop=True))
        seeds.index = rows.index[still_missing]
        rows.loc[still_missing, "sales"] = seeds
        # a seeded leading gap carries forward to later gaps of the same series in the batch
        rows["sales"] = rows.groupby(SERIES_KEY, sort=False)["sales"].ffill()
        from_history = int((still_missing & rows["sales"].notna()).sum())
    zero_filled = rows["sales"].isna()
    rows.loc[zero_filled, "sales"] = 0.0
    return ImputationResult(rows, num_missing, from_history, int(zero_filled.sum()))


def merge_duplicate_keys(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Several lines with the same (date, product_id, category) are separate invoice lines: sum them.

    Returns the merged rows and how many input rows were folded into another.
    """
    if not rows.duplicated(KEY).any():
        return rows, 0
    merged = rows.groupby(KEY, sort=False, as_index=False).agg(
        line_number=("line_number", "min"), sales=("sales", "sum"), is_imputed=("is_imputed", "any")
    )
    return merged[rows.columns], len(rows) - len(merged)
