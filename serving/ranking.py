"""Rank within the borough at an as-of date, and the risk band that rank falls in.

Rank 1 is the highest risk. Households are ordered by the booster's raw score (the calibrated probability
is monotone in it but has plateaus), ties by UPRN, so the API and the stored risk list always agree.

Bands are set by rank against the model's caseworker capacity k (households caseworkers can reach in a
month, 250 by default; the fairness report is measured at k):

| band        | rank              | meaning                                              |
|-------------|-------------------|------------------------------------------------------|
| `very_high` | 1 to k            | on this month's list: caseworkers can reach them all |
| `high`      | k+1 to 4k         | next in line if capacity grows or others are helped  |
| `medium`    | 4k+1 to 20k       | watch: worth a light-touch offer (letter, advice)    |
| `low`       | below 20k         | no action suggested                                  |
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ("very_high", "high", "medium", "low")
BAND_LIMITS = (1, 4, 20)  # multiples of capacity closing each band but the last
DEFAULT_CAPACITY = 250


def capacity_of(model) -> int:
    return int(model.info.get("capacity") or DEFAULT_CAPACITY)


def bands(ranks: np.ndarray, capacity: int) -> np.ndarray:
    edges = np.array(BAND_LIMITS) * capacity
    return np.array(BANDS, dtype=object)[np.searchsorted(edges, np.asarray(ranks), side="left")]


def ranks(raw: np.ndarray, uprns: np.ndarray) -> np.ndarray:
    """1-based ranks: highest raw score first, ties by UPRN."""
    order = np.lexsort((uprns, -raw))
    out = np.empty(len(raw), dtype="int64")
    out[order] = np.arange(1, len(raw) + 1)
    return out


@dataclass(frozen=True)
class MonthRanking:
    """A month's borough for one model version: every resident's rank, and the scores to place a newcomer."""
    ranks: np.ndarray  # aligned with the month's rows in the feature build
    ascending: np.ndarray  # every resident's raw score, sorted

    @classmethod
    def of(cls, raw: np.ndarray, uprns: np.ndarray) -> MonthRanking:
        return cls(ranks(raw, uprns), np.sort(raw))

    def place(self, raw: np.ndarray) -> np.ndarray:
        """The rank a household with RAW would have among this month's residents (1 + those scoring higher)."""
        return len(self.ascending) - np.searchsorted(self.ascending, raw, side="right") + 1
