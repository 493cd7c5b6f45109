"""Fold repeated invoice lines into one row per key, then fill the keys that have no sales.

Lines of one (date, product_id, category) are merged first: the key's sales are the total of its
lines that have a value; a key whose lines are all blank is missing. A missing key that already
holds a real (not imputed) value in the invoice table keeps it: a blank is not a change. The other
missing keys are filled with the last real value before them in their (product_id, category)
series, from this batch or from the table, whichever is later, else 0, and flagged ``is_imputed``.
The table is read through a lookup the caller passes (the caller owns the database).

Key columns may be categoricals (as validation hands them over); groupings pass ``observed=True``
so only the keys present are grouped, never every combination of categories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY = ["date", "product_id", "category"]
SERIES_KEY = ["product_id", "category"]

# (product_id, category, date, after) of missing keys -> frame aligned with them: ``date`` and
# ``sales`` of the latest REAL stored value on or before that date (NaT / NaN if none). A date equal
# to the key's own date means the key itself already holds a real value. ``after`` (NaT: none) is the
# batch's own latest real date before the key: a stored value from then or earlier loses to the
# batch's, so the lookup may leave it out (NaT) and search only the days after it.
LastKnownLookup = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass
class ImputationResult:
    rows: pd.DataFrame  # line_number, date, product_id, category, sales, is_imputed
    num_missing: int  # keys with no value in the batch
    num_filled_from_history: int  # seeded from a real value earlier in the batch or in the table
    num_filled_with_zero: int
    num_kept_stored: int = 0  # missing keys that already hold a real value: it stays

    @property
    def num_imputed(self) -> int:
        return self.num_missing - self.num_kept_stored


def impute_missing_sales(merged: pd.DataFrame, last_known: LastKnownLookup | None = None) -> ImputationResult:
    """Fill the missing keys of ``merged`` (one row per key, see ``merge_duplicate_keys``).

    A key that keeps its stored real value stays in the rows, flagged imputed and carrying that
    value, so the upsert sees it and leaves the stored row alone (it never lets an imputed value
    replace a real one) and counts it unchanged."""
    rows = merged.sort_values([*SERIES_KEY, "date", "line_number"], ignore_index=True)
    missing = rows["sales"].isna().to_numpy()
    rows["is_imputed"] = missing
    num_missing = int(missing.sum())
    if not num_missing:
        return ImputationResult(rows, 0, 0, 0)

    # the latest real value earlier in the batch (one row per key: earlier rows are earlier days)
    series = rows.groupby(SERIES_KEY, sort=False, observed=True)
    batch_sales = series["sales"].ffill().to_numpy()[missing]
    real_dates = rows[SERIES_KEY].assign(real_date=rows["date"].where(~missing))
    batch_dates = real_dates.groupby(SERIES_KEY, sort=False, observed=True)["real_date"].ffill()
    batch_dates = batch_dates.to_numpy(dtype="datetime64[ns]")[missing]

    wanted = rows.loc[missing, [*SERIES_KEY, "date"]].reset_index(drop=True)
    wanted["after"] = batch_dates
    if last_known is not None:
        stored = last_known(wanted)
        stored_dates = pd.to_datetime(stored["date"]).to_numpy(dtype="datetime64[ns]")
        stored_sales = stored["sales"].astype("float64").to_numpy()
    else:
        stored_dates = np.full(num_missing, np.datetime64("NaT"), dtype="datetime64[ns]")
        stored_sales = np.full(num_missing, np.nan)

    kept = stored_dates == wanted["date"].to_numpy(dtype="datetime64[ns]")
    # the later of the two seeds; the batch's own value wins a tie (it is what the batch stores)
    use_stored = ~np.isnat(stored_dates) & (np.isnat(batch_dates) | (stored_dates > batch_dates))
    values = np.where(use_stored, stored_sales, batch_sales)
    zero_filled = np.isnan(values)
    values[zero_filled] = 0.0
    sales = rows["sales"].to_numpy(dtype="float64", copy=True)
    sales[missing] = values
    rows["sales"] = sales
    num_kept = int(kept.sum())
    return ImputationResult(
        rows,
        num_missing,
        num_filled_from_history=int((~zero_filled & ~kept).sum()),
        num_filled_with_zero=int(zero_filled.sum()),
        num_kept_stored=num_kept,
    )


def merge_duplicate_keys(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Several lines with the same (date, product_id, category) are separate invoice lines: sum them.

    Blank sales do not count: a key's total is the sum of its lines that have a value, and stays
    blank (missing) only when all its lines are blank. ``is_imputed``, when present, is true if any
    line was. Returns the merged rows (one per key, in order of first appearance) and how many input
    rows were folded into another. Only the repeated keys are grouped; every other row stays as it is.
    """
    repeated = rows.duplicated(KEY, keep=False).to_numpy()
    if not repeated.any():
        return rows, 0
    groups = rows[repeated].groupby(KEY, sort=False, observed=True)
    merged = {"line_number": groups["line_number"].min(), "sales": groups["sales"].sum(min_count=1)}
    if "is_imputed" in rows.columns:
        merged["is_imputed"] = groups["is_imputed"].any()
    repeated_positions = np.flatnonzero(repeated)
    first_of_key = np.zeros(len(rows), dtype=bool)
    first_of_key[repeated_positions[~rows.iloc[repeated_positions].duplicated(KEY).to_numpy()]] = True
    keep = ~repeated | first_of_key
    result = rows[keep].reset_index(drop=True)
    positions = np.flatnonzero(first_of_key[keep])  # the merged groups, in the same order
    for column, values_of_groups in merged.items():
        values = result[column].to_numpy(copy=True)
        values[positions] = values_of_groups.to_numpy()
        result[column] = values
    return result, len(rows) - len(result)
