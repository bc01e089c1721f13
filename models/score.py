"""Score every household resident at an as-of date with a registered model version.

Rows are keyed by the household pseudonym: `household_key, as_of, target, score` (calibrated probability),
`rank` (1 = highest risk, ordered by the booster's raw score so no ties are broken at random), `reasons`
(what moved the score most, in plain English, from the ethics layer) and `model_version`. Modelling code
never maps a key back to a UPRN: the application does (`upstream score` writes `uprn` in its place).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from models.learner import RiskModel

COLUMNS = ["household_key", "as_of", "target", "score", "rank", "reasons", "model_version"]


def rows_at(matrix: Path, as_of: pd.Timestamp, features: list[str]) -> pd.DataFrame:
    dataset = ds.dataset(Path(matrix), format="parquet")
    table = dataset.to_table(columns=["household_key", "as_of", *features],
                             filter=ds.field("as_of") == pd.Timestamp(as_of).to_datetime64())
    return table.to_pandas()


def score(model: RiskModel, rows: pd.DataFrame, version: str, reasons: list[list[str]] | None = None) -> pd.DataFrame:
    """The risk list; REASONS, when given, are each row's plain-English reasons (the ethics layer writes them)."""
    if rows.empty:
        raise ValueError("no households are resident at that as-of date in the feature matrix")
    x = model.matrix(rows)
    raw = model.raw(x)
    out = pd.DataFrame({
        "household_key": rows["household_key"].to_numpy(),
        "as_of": rows["as_of"].to_numpy(),
        "target": model.target,
        "score": model.calibrator(raw),
        "rank": pd.Series(-raw).rank(method="first").astype("int64").to_numpy(),
        "reasons": reasons if reasons is not None else [[] for _ in range(len(rows))],
        "model_version": str(version),
    })
    return out.sort_values("rank", kind="stable").reset_index(drop=True)[COLUMNS]


def write(frame: pd.DataFrame, out: Path) -> Path:
    """Parquet, or CSV (reasons joined with '; ') when OUT ends in .csv."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.assign(reasons=frame["reasons"].map("; ".join)).to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    return out

