"""The hidden truth: the oracle's probabilities and realised outcomes.

p_true for an as-of month t is 1 - prod(1 - h_k) over k = t..t+5, with h the household's monthly hazard
along its realised latent path, so `outcome` is exactly Bernoulli(p_true). After a household moves away
without an approach its hazard here is 0; after it leaves following an approach (the outcome is already
1 then) its last hazard is carried forward, which is all the window needs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth.calendar import month_start
from synth.partition import HORIZON


def month_starts(months: np.ndarray) -> np.ndarray:
    table = {m: np.datetime64(month_start(m), "ns") for m in np.unique(months)}
    return np.array([table[m] for m in months], dtype="datetime64[ns]") if len(months) else \
        np.array([], dtype="datetime64[ns]")


def _with_ghost_months(hazard: pd.DataFrame, departures: pd.DataFrame, months: int) -> pd.DataFrame:
    last = hazard.sort_values("month").groupby("household_id").tail(1).set_index("household_id")
    dep = departures[departures["month"] >= 0].set_index("household_id")
    ghosts = []
    for k in range(1, HORIZON):
        g = pd.DataFrame({"household_id": dep.index, "month": dep["month"].to_numpy() + k})
        g["hazard"] = np.where(dep["after_duty"].to_numpy(), last.loc[dep.index, "hazard"].to_numpy(), 0.0)
        ghosts.append(g[g["month"] < months])
    out = pd.concat([hazard.assign(ghost=False), *(g.assign(event=False, ghost=True) for g in ghosts)])
    return out.sort_values(["household_id", "month"], kind="stable").reset_index(drop=True)


def homelessness(hazard: pd.DataFrame, departures: pd.DataFrame, uprn: pd.Series, months: int) -> pd.DataFrame:
    h = _with_ghost_months(hazard[hazard["month"] >= 0], departures, months)
    log_survive = np.log1p(-h["hazard"].to_numpy())
    events = h["event"].to_numpy().astype(int)
    hid = h["household_id"].to_numpy()
    i = np.arange(len(h))
    j = i + HORIZON  # exclusive end of the window
    ok = (j <= len(h)) & (~h["ghost"].to_numpy()) & (h["month"].to_numpy() <= months - HORIZON)
    ok[ok] &= hid[j[ok] - 1] == hid[ok]  # the whole window belongs to the same household
    i = i[ok]
    # Sum the window term by term (not by differencing a running total) so that each value's rounding
    # is independent of how long the history is: a longer run reproduces a shorter one exactly.
    window_log = sum(log_survive[i + k] for k in range(HORIZON))
    window_events = sum(events[i + k] for k in range(HORIZON))
    out = pd.DataFrame({
        "household_id": hid[i],
        "uprn": uprn.loc[hid[i]].to_numpy(),
        "as_of": month_starts(h["month"].to_numpy()[i]),
        "p_true": -np.expm1(window_log),
        "outcome": (window_events > 0).astype(np.int8),
    })
    return out


def fuel_poverty(fuel: pd.DataFrame, uprn: pd.Series) -> pd.DataFrame:
    f = fuel[fuel["month"] >= 0]
    # LILEE is a rule on the full state, so the oracle is certain: p_true is 0 or 1.
    return pd.DataFrame({
        "household_id": f["household_id"].to_numpy(),
        "uprn": uprn.loc[f["household_id"]].to_numpy(),
        "as_of": month_starts(f["month"].to_numpy()),
        "p_true": f["fuel_poor"].to_numpy().astype(float),
        "fuel_poor": f["fuel_poor"].to_numpy().astype(np.int8),
    })
