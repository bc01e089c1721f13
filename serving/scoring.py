"""Scoring on the lean path: numpy rows from the feature build straight into the LightGBM booster.

`Scoring` holds what the service serves at a moment (the selected versions, the feature build, each
month's ranking) and answers for one household or a thousand the same way. A month's ranking is computed
once per model version, the latest month at start, older ones on first use.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from serving import explanations, ranking
from serving.feature_build import FeatureBuild, month_start
from serving.registry import Selection, Served

log = logging.getLogger("upstream.serving")


class NotServed(Exception):
    """No approved version of a target's model is loaded: the reason says why."""


@dataclass
class Scored:
    served: Served
    x: np.ndarray
    raw: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    band: np.ndarray

    def contributions(self) -> np.ndarray:
        return explanations.contributions(self.served.model, self.x)

    def reasons(self) -> list[list[str]]:
        return explanations.sentences(self.served.model, self.x, self.contributions())


class Scoring:
    def __init__(self, selection: Selection, build: FeatureBuild):
        self.selection = selection
        self.build = build
        self._rankings: dict[tuple[str, str, int], ranking.MonthRanking] = {}
        self._lock = threading.Lock()
        for served in selection.models.values():
            self.ranking(served, int(build.months[-1]))

    def served(self, target: str) -> Served:
        found = self.selection.models.get(target)
        if found is None:
            why = "; ".join(p for p in self.selection.problems) or "no approved version"
            raise NotServed(f"no approved {target} model is being served: {why}")
        return found

    def ranking(self, served: Served, month: int) -> ranking.MonthRanking | None:
        """The borough at MONTH ranked by SERVED's model (None when the build does not hold that month)."""
        key = (served.target, served.version, int(month))
        if key not in self._rankings:
            rows = self.build.month_rows(month)
            if rows is None:
                return None
            with self._lock:  # one computation per month, however many requests ask at once
                if key not in self._rankings:
                    raw = served.model.raw(self.build.matrix(served.model, rows))
                    self._rankings[key] = ranking.MonthRanking.of(raw, self.build.uprns(rows))
        return self._rankings[key]

    def ranked(self, target: str, months) -> bool:
        """Whether TARGET's borough rankings at MONTHS are at hand: then scoring asks no borough-wide work."""
        served = self.selection.models.get(target)
        return served is not None and all((target, served.version, int(m)) in self._rankings for m in set(months))

    def known(self, target: str, rows: np.ndarray, months: np.ndarray) -> Scored:
        """Households of the build (ROWS found by `build.find`), ranked where they stand."""
        served = self.served(target)
        x = self.build.matrix(served.model, rows)
        ranks = np.empty(len(rows), dtype="int64")
        for month in np.unique(months):
            at = months == month
            table = self.ranking(served, int(month))
            ranks[at] = table.ranks[rows[at] - self.build.month_rows(month).start]
        return self._finish(served, x, ranks)

    def given(self, target: str, x: np.ndarray, months: np.ndarray) -> Scored:
        """Households sent with their own feature values, placed among the borough at their as-of month (or
        the build's latest month when it does not hold theirs)."""
        served = self.served(target)
        raw = explanations.raw(served.model, x)
        ranks = np.empty(len(x), dtype="int64")
        for month in np.unique(months):
            at = months == month
            ranks[at] = self.ranking(served, self.ranked_month(int(month))).place(raw[at])
        return self._finish(served, x, ranks, raw)

    def ranked_month(self, month: int) -> int:
        """The month whose residents a household sent at MONTH is placed among: its own, if the build holds it."""
        return month if month in self.build.bounds else int(self.build.months[-1])

    @staticmethod
    def _finish(served: Served, x: np.ndarray, ranks: np.ndarray, raw: np.ndarray | None = None) -> Scored:
        raw = explanations.raw(served.model, x) if raw is None else raw
        return Scored(served, x, raw, served.model.calibrator(raw), ranks,
                      ranking.bands(ranks, ranking.capacity_of(served.model)))

    def borough(self, target: str, month: int) -> tuple[Scored, np.ndarray]:
        """Every resident at MONTH with their UPRNs: the month's risk list."""
        rows = self.build.month_rows(month)
        if rows is None:
            first, last = self.build.as_of_range
            raise ValueError(f"the feature build holds no households at {month_start(month):%Y-%m-%d} "
                             f"(it holds {first} to {last})")
        served = self.served(target)
        table = self.ranking(served, month)
        return self._finish(served, self.build.matrix(served.model, rows), table.ranks), self.build.uprns(rows)

    def replace_selection(self, selection: Selection):
        """Serve SELECTION from now on; rankings of versions no longer served are dropped."""
        versions = {(s.target, s.version) for s in selection.models.values()}
        for served in selection.models.values():
            self.ranking(served, int(self.build.months[-1]))  # ready before the first request needs it
        self.selection = selection
        with self._lock:
            self._rankings = {k: v for k, v in self._rankings.items() if (k[0], k[1]) in versions}
