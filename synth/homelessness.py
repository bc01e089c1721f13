"""The monthly hazard of a household being owed a homelessness prevention or relief duty.

The hazard is split by the reason the home is lost (H-CLIC's main reasons), so the mix of reasons, the
prevention/relief split and the role of what councils cannot see (a landlord's notice, a relationship
breaking down, family asking someone to leave, approaches nothing foretells) are all explicit here.
Ethnicity does not appear: disparity arises only through tenure, household structure, income and arrears.
"""
from __future__ import annotations

import numpy as np

REASONS = ["End of private rented tenancy", "Family or friends no longer willing or able to accommodate",
           "Domestic abuse", "Non-violent relationship breakdown with partner", "Rent arrears", "Other"]
PRS_END, FAMILY, ABUSE, BREAKDOWN, ARREARS, OTHER = range(6)
PREVENTION_SHARE = np.array([0.72, 0.3, 0.12, 0.35, 0.85, 0.42])  # by reason; the rest are relief duties
# Approaches no record foretells (leaving hospital or prison, fire, flood): the irreducible part.
UNFORESEEABLE = 0.0005


def hazard_components(s: dict, tenure: np.ndarray) -> np.ndarray:
    """Monthly hazard by reason (n x 6) from the households' latent state `s` and their tenure."""
    n = len(tenure)
    private = tenure == "private"
    social = np.isin(tenure, ["council", "housing_association"])
    weeks = np.where(social, s["rent_balance"] / np.maximum(s["weekly_rent_now"], 1), 0)
    tenure_effect = np.select([tenure == "owner", private, tenure == "council"], [-3.5, 0.15, -1.25], -1.35)
    composition = np.array([0.35, -1.3, -0.4, 0.0, 0.55, -0.1])[s["composition"]]
    rent_arrears = 1.2 * (weeks >= 8) + 0.6 * ((weeks >= 4) & (weeks < 8))
    council_tax = np.array([0, 0.1, 0.2, 0.35, 0.6, 0.8])[s["ct_stage"]]
    both = 0.5 * (weeks >= 4) * (s["ct_stage"] >= 3)  # arrears on both: worse than either alone
    young = 0.4 * (s["age"] < 25)
    private_arrears = 1.1 * (private & (s["private_arrears"] >= 2))
    financial = np.exp(-7.7 + 0.7 * s["stress"] + tenure_effect + composition + rent_arrears + council_tax
                       + both + young + private_arrears + 0.4 * (s["uc_wait"] > 0))
    notice = 0.011 * (s["notice_left"] > 0)
    family = 0.08 * (s["family_left"] > 0)
    abuse = 0.021 * (s["abuse_left"] > 0)
    breakdown = np.select([s["breakdown_ago"] == 0, s["breakdown_ago"] <= 2], [0.05, 0.02], 0.0)
    arrears_share = np.where(social & (weeks >= 4), 0.7, np.where(private_arrears > 0, 0.2, 0.0))
    prs_share = np.where(private, np.where(private_arrears > 0, 0.4, 0.12), 0.0)
    # Owners and social tenants have more to fall back on when a crisis hits.
    resilience = np.select([tenure == "owner", social], [0.35, 0.4], 1.0)[:, None]
    unforeseeable = UNFORESEEABLE * np.column_stack([
        0.45 * private, np.full(n, 0.3), np.full(n, 0.13), np.full(n, 0.05), np.zeros(n), np.full(n, 0.25)])
    return resilience * (unforeseeable + np.column_stack([
        notice + financial * prs_share, family, abuse, breakdown,
        financial * arrears_share, financial * np.clip(1 - arrears_share - prs_share, 0, 1),
    ]))
