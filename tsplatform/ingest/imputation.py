"""Fill missing sales and fold repeated invoice lines into one row per key.

Missing sales are forward-filled per (product_id, category) in date order, starting from the
product's last known value already in the invoice table (looked up by the caller, which owns the
database), then 0. Rows filled either way are flagged ``is_imputed``.

Key columns may be categoricals (as validation hands them over); groupings pass ``observed=True``
so only the keys present are grouped, never every combination of categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
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

    rows["sales"] = rows.groupby(SERIES_KEY, sort=False, observed=True)["sales"].ffill()
    still_missing = rows["sales"].isna()
    from_history = 0
    if still_missing.any() and last_known is not None:
        seeds = last_known(rows.loc[still_missing, [*SERIES_KEY, "date"]].reset_index(drop=True))
        seeds.index = rows.index[still_missing]
        rows.loc[still_missing, "sales"] = seeds
        # a seeded leading gap carries forward to later gaps of the same series in the batch
        rows["sales"] = rows.groupby(SERIES_KEY, sort=False, observed=True)["sales"].ffill()
        from_history = int((still_missing & rows["sales"].notna()).sum())
    zero_filled = rows["sales"].isna()
    rows.loc[zero_filled, "sales"] = 0.0
    return ImputationResult(rows, num_missing, from_history, int(zero_filled.sum()))


def merge_duplicate_keys(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Several lines with the same (date, product_id, category) are separate invoice lines: sum them.

    Returns the merged rows (one per key, in order of first appearance) and how many input rows
    were folded into another. Only the repeated keys are grouped; every other row stays as it is.
    """
    repeated = rows.duplicated(KEY, keep=False).to_numpy()
    if not repeated.any():
        return rows, 0
    merged = rows[repeated].groupby(KEY, sort=False, as_index=False, observed=True).agg(
        line_number=("line_number", "min"), sales=("sales", "sum"), is_imputed=("is_imputed", "any")
    )
    repeated_positions = np.flatnonzero(repeated)
    first_of_key = np.zeros(len(rows), dtype=bool)
    first_of_key[repeated_positions[~rows.iloc[repeated_positions].duplicated(KEY).to_numpy()]] = True
    keep = ~repeated | first_of_key
    result = rows[keep].reset_index(drop=True)
    positions = np.flatnonzero(first_of_key[keep])  # the merged groups, in the same order
    for column in ("line_number", "sales", "is_imputed"):
        values = result[column].to_numpy(copy=True)
        values[positions] = merged[column].to_numpy()
        result[column] = values
    return result, len(rows) - len(result)
