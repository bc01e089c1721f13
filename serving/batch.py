"""A month's risk lists for the whole borough, scored on the same path as the API, for the database.

`upstream score --as-of DATE` calls `month_lists`, then `risk_lists.replace`: every resident household,
each target's approved champion, with score, band, rank and reasons.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from serving.feature_build import FeatureBuild, month_number
from serving.registry import Selection, Served
from serving.scoring import Scoring


def month_lists(matrix: Path, as_of, served: list[Served], progress=lambda _: None) -> pd.DataFrame:
    """The risk list at AS_OF for each SERVED version (risk_lists.COLUMNS), best first per target."""
    month = month_number(as_of)
    features = sorted({name for s in served for name in s.model.features})
    scoring = Scoring(Selection({s.target: s for s in served}, []), FeatureBuild(matrix, features, [month]))
    frames = []
    for s in served:
        progress(f"Scoring and explaining {s.name} version {s.version}")
        scored, uprns = scoring.borough(s.target, month)
        frames.append(pd.DataFrame({
            "as_of": pd.Timestamp(as_of), "target": s.target, "model_version": s.version, "uprn": uprns,
            "score": scored.score, "band": scored.band, "rank": scored.rank, "reasons": scored.reasons(),
        })[uprns >= 0].sort_values("rank", kind="stable"))  # a household without a UPRN cannot be visited
    return pd.concat(frames, ignore_index=True)
