"""The first pass of linkage: a record that carries a UPRN the gazetteer knows is linked exactly."""
from __future__ import annotations

import pandas as pd


def exact_links(records: pd.DataFrame, gazetteer_uprns: set) -> pd.Series:
    """Boolean mask of records whose recorded UPRN is valid (present and in the gazetteer)."""
    return records["recorded_uprn"].notna() & records["recorded_uprn"].isin(gazetteer_uprns)
