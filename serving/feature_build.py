"""The latest feature build, held in memory for lookups by (UPRN, as-of date).

Loaded once at start: every row's features as plain arrays, sorted by (month, UPRN), so a household is a
binary search away and a month's residents are one contiguous slice. The pseudonymous household key is
mapped to its UPRN here, in the application, from the key map beside the matrix.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.build import key_map_path
from models.learner import CATEGORICAL, RiskModel

log = logging.getLogger("upstream.serving")
UPRN_SPAN = 10**12  # UPRNs have at most 12 digits: (month, UPRN) packs into one int64


def month_number(day) -> int:
    day = pd.Timestamp(day)
    return day.year * 12 + day.month - 1


def month_start(number: int) -> pd.Timestamp:
    return pd.Timestamp(year=number // 12, month=number % 12 + 1, day=1)


def latest_matrix() -> Path | None:
    """The most recently written matrix under $UPSTREAM_HOME (`make demo`'s, or one `upstream` cached)."""
    from upstream.config import home

    found = [p for p in [home() / "features.parquet", *(home() / "cache").glob("features-*.parquet")]
             if p.exists() and not p.name.endswith((".keys.parquet", ".equality.parquet")) and key_map_path(p).exists()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _compact(column: pa.ChunkedArray) -> np.ndarray:
    """float32 where that is exact (small whole numbers: counts, flags, bands), else float64: a third less memory
    for the default borough, and the booster sees the same float64 values either way."""
    values = column.to_numpy(zero_copy_only=False).astype("float64")
    exact = pa.types.is_integer(column.type) or pa.types.is_float32(column.type)
    if exact and np.nanmax(np.abs(values), initial=0) < 2**24:
        return values.astype("float32")
    return values


class FeatureBuild:
    def __init__(self, matrix: Path, features: list[str], months: list[int] | None = None):
        self.path = Path(matrix)
        filters = None
        if months:
            filters = pc.field("as_of").isin(pa.array([month_start(m).to_datetime64() for m in months],
                                                       pa.timestamp("us")))
        table = pq.read_table(self.path, columns=["household_key", "as_of", *features], filters=filters)
        keys = pq.read_table(key_map_path(self.path), columns=["household_key", "uprn"])
        where = pc.index_in(table.column("household_key"), value_set=keys.column("household_key")).to_numpy(
            zero_copy_only=False)
        uprns = keys.column("uprn").to_numpy(zero_copy_only=False).astype("float64")
        uprn = np.where(np.isnan(where), -1, uprns[np.nan_to_num(where, nan=0).astype("int64")]).astype("int64")
        as_of = table.column("as_of").to_pandas()
        month = (as_of.dt.year * 12 + as_of.dt.month - 1).to_numpy("int64")
        order = np.lexsort((uprn, month))
        self.keys = (month * UPRN_SPAN + uprn)[order]
        self.months, starts = np.unique(month[order], return_index=True)
        self.bounds = dict(zip(self.months.tolist(), zip(starts.tolist(), [*starts[1:].tolist(), len(order)])))
        self.columns: dict[str, np.ndarray] = {}
        self.categories: dict[str, list[str]] = {}
        for name in features:
            column = table.column(name)
            if name in CATEGORICAL:
                encoded = pc.dictionary_encode(column).combine_chunks()
                self.categories[name] = encoded.dictionary.to_pylist()
                codes = encoded.indices.to_numpy(zero_copy_only=False)
                self.columns[name] = np.where(pd.isna(codes), -1, np.nan_to_num(codes, nan=-1)).astype("int32")[order]
            else:
                self.columns[name] = _compact(column)[order]
        duplicates = int((np.diff(self.keys) == 0).sum())
        if duplicates:
            log.warning("%d (UPRN, as-of) pairs hold more than one household; the first is served", duplicates)
        self._layouts: dict[tuple, list] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def as_of_range(self) -> tuple[str, str]:
        return f"{month_start(self.months[0]):%Y-%m-%d}", f"{month_start(self.months[-1]):%Y-%m-%d}"

    def find(self, uprns: np.ndarray, months: np.ndarray) -> np.ndarray:
        """Row of each (UPRN, month), or -1 where the build has no such resident household."""
        wanted = np.asarray(months, "int64") * UPRN_SPAN + np.asarray(uprns, "int64")
        at = np.searchsorted(self.keys, wanted)
        hit = at < len(self.keys)
        hit[hit] = self.keys[at[hit]] == wanted[hit]
        return np.where(hit, at, -1)

    def month_rows(self, month: int) -> slice | None:
        bounds = self.bounds.get(int(month))
        return slice(*bounds) if bounds else None

    def uprns(self, rows) -> np.ndarray:
        return self.keys[rows] % UPRN_SPAN

    def matrix(self, model: RiskModel, rows) -> np.ndarray:
        """The booster's input for ROWS (indices or a slice), exactly as model.matrix would build it."""
        columns = self._model_columns(model)
        count = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
        out = np.empty((count, len(columns)), dtype="float64")
        for j, (values, mapping) in enumerate(columns):
            picked = values[rows]
            out[:, j] = picked if mapping is None else np.where(picked < 0, np.nan, mapping[np.maximum(picked, 0)])
        return out

    def _model_columns(self, model: RiskModel) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """The model's columns in its order, each with its category mapping (None for a number)."""
        key = tuple(model.features), tuple(model.wards)
        if key not in self._layouts:
            self._layouts[key] = [(self.columns[name], self._ward_map(model, name) if name in CATEGORICAL else None)
                                    for name in model.features]
        return self._layouts[key]

    def _ward_map(self, model: RiskModel, name: str) -> np.ndarray:
        """Build codes -> the model's own codes (unknown to the model: missing)."""
        codes = pd.Index(model.wards).get_indexer(self.categories[name]).astype("float64")
        return np.append(np.where(codes < 0, np.nan, codes), np.nan)  # never empty
