"""Households moving into properties, and the people in them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth import names

COMPOSITIONS = ["single", "single_pensioner", "couple", "couple_with_children", "lone_parent", "multi_adult"]
SINGLE, SINGLE_PENSIONER, COUPLE, COUPLE_CHILDREN, LONE_PARENT, MULTI_ADULT = range(6)
_COMPOSITION_BY_TENURE = {
    "owner": [.12, .13, .26, .29, .05, .15],
    "private": [.31, .03, .22, .19, .10, .15],
    "council": [.29, .15, .08, .14, .22, .12],
    "housing_association": [.28, .14, .08, .15, .23, .12],
}
_EARNINGS_BY_TENURE = {"owner": 1.7, "private": 1.0, "council": 0.62, "housing_association": 0.65}
_ETHNIC_EARNINGS = {"White": 1.0, "Asian": 0.9, "Black": 0.8, "Mixed": 0.92, "Other": 0.88}


def _pick(rng, probs: np.ndarray) -> np.ndarray:
    probs = probs / probs.sum(axis=1, keepdims=True)
    return (probs.cumsum(axis=1) > rng.random(len(probs))[:, None]).argmax(axis=1)


def draw_households(rng: np.random.Generator, tenure: np.ndarray, deprivation: np.ndarray) -> dict:
    """Attributes of new households for properties of the given tenure and area deprivation."""
    n = len(tenure)
    social = np.isin(tenure, ["council", "housing_association"])
    renting = social | (tenure == "private")
    eth_util = np.column_stack([
        1.1 - 0.45 * deprivation - 0.7 * renting,    # White
        0.05 + 0.15 * deprivation,                    # Asian
        -1.6 + 0.35 * deprivation + 1.6 * renting + 0.8 * (tenure == "private"),  # Black
        -1.7 + 0.1 * renting,                         # Mixed
        -1.4 + 0.1 * renting,                         # Other
    ])
    ethnicity = np.array(names.ETHNIC_GROUPS)[_pick(rng, np.exp(eth_util))]

    comp_p = np.array([_COMPOSITION_BY_TENURE[t] for t in tenure])
    # Pathways for ethnic disparity: household structure differs by group (Census 2021).
    comp_p[:, LONE_PARENT] *= np.where(ethnicity == "Black", 2.4, np.where(ethnicity == "Asian", 0.6, 1.0))
    comp_p[:, COUPLE_CHILDREN] *= np.where(ethnicity == "Asian", 1.4, 1.0)
    comp_p[:, SINGLE_PENSIONER] *= np.where(ethnicity == "White", 1.3, 0.6)
    comp_p[:, MULTI_ADULT] *= np.where(np.isin(ethnicity, ["Black", "Asian"]), 1.5, 1.0)  # more overcrowding
    composition = _pick(rng, comp_p)

    age = np.select(
        [composition == SINGLE, composition == SINGLE_PENSIONER, composition == LONE_PARENT],
        [18 + rng.gamma(2.2, 8.0, n), 66 + rng.gamma(2.0, 5.0, n), 19 + rng.gamma(4.0, 4.2, n)],
        23 + rng.gamma(4.5, 5.5, n),
    )
    age = np.clip(age, 18, 98)
    pensioner = age >= 66
    composition = np.where(pensioner & (composition == SINGLE), SINGLE_PENSIONER, composition)
    adults = np.select([composition == COUPLE, composition == COUPLE_CHILDREN, composition == MULTI_ADULT],
                       [2, 2, 2 + rng.binomial(2, 0.3, n)], 1)
    children = np.select([composition == COUPLE_CHILDREN, composition == LONE_PARENT],
                         [1 + rng.binomial(3, 0.3, n), 1 + rng.binomial(3, 0.28, n)], 0)
    sex = np.where(composition == LONE_PARENT, np.where(rng.random(n) < 0.9, "F", "M"),
                   np.where(rng.random(n) < 0.5, "F", "M"))
    disabled = rng.random(n) < 0.10 + 0.004 * np.maximum(age - 40, 0) + 0.07 * social
    employ_p = np.clip(0.82 + 0.08 * (tenure == "owner") - 0.3 * disabled - 0.08 * deprivation
                       - 0.2 * (composition == LONE_PARENT)
                       - 0.12 * social, 0.05, 0.95)
    employed = (~pensioner) & (rng.random(n) < employ_p)
    earn_scale = np.array([_EARNINGS_BY_TENURE[t] for t in tenure]) \
        * np.array([_ETHNIC_EARNINGS[e] for e in ethnicity]) * np.exp(-0.1 * deprivation) \
        * np.where(age < 25, 0.5, 1.0) * np.where(composition == LONE_PARENT, 0.55, 1.0)  # part-time work
    earnings = 36_000 * earn_scale * rng.lognormal(0, 0.45, n)
    second_earner = ((composition == COUPLE) | (composition == COUPLE_CHILDREN) | (composition == MULTI_ADULT)) \
        & ~pensioner & (rng.random(n) < 0.68)
    second_earnings = np.where(second_earner, 25_000 * earn_scale * rng.lognormal(0, 0.45, n), 0.0)
    pension = np.where(pensioner, 11_500 * np.where(adults > 1, 1.8, 1.0)
                       + (tenure == "owner") * 6_000 * rng.lognormal(0, 0.6, n), 0.0)
    mortgage = np.where((tenure == "owner") & (rng.random(n) < np.where(age < 55, 0.8, 0.2)),
                        np.round(1_150 * rng.lognormal(0, 0.35, n), -1), 0.0)
    return {
        "composition": composition, "age": age, "sex": sex, "ethnicity": ethnicity,
        "adults": adults, "children": children, "disabled": disabled, "employed": employed,
        "earnings": earnings, "second_earnings": second_earnings, "pension": pension,
        "mortgage": mortgage,
        "money_trait": rng.normal(0, 0.55, n),  # how tight a household runs its budget
        "digitally_excluded": (excluded := rng.random(n) < 0.08 + 0.15 * pensioner),
        # Many who could claim never do (stigma, hassle, not knowing): take-up is well short of 100%.
        "would_claim": rng.random(n) < np.where(excluded, 0.45, 0.75),
    }


def draw_people(rng: np.random.Generator, household_id: np.ndarray, hh: dict, start: pd.Timestamp) -> pd.DataFrame:
    """One row per person: the lead person first, then partner or other adults, then children."""
    rows = []
    for i, hid in enumerate(household_id):
        eth, sex, age = hh["ethnicity"][i], hh["sex"][i], hh["age"][i]
        surname = rng.choice(names.SURNAMES[eth])
        members = [("lead", sex, age, eth)]
        comp = hh["composition"][i]
        if comp in (COUPLE, COUPLE_CHILDREN):
            members.append(("partner", "M" if sex == "F" else "F", max(18, age + rng.normal(0, 4)), eth))
        for _ in range(hh["adults"][i] - len(members)):
            members.append(("adult", rng.choice(["F", "M"]), 18 + rng.gamma(2, 6), eth if rng.random() < 0.8
                            else rng.choice(names.ETHNIC_GROUPS)))
        for _ in range(hh["children"][i]):
            members.append(("child", rng.choice(["F", "M"]), rng.uniform(0, 17.9), eth))
        for seq, (role, s, a, e) in enumerate(members):
            dob = start - pd.Timedelta(days=int(a * 365.25 + rng.integers(0, 365)))
            rows.append((hid, seq, role, rng.choice(names.FIRST_NAMES[(e, s)]),
                         surname if role != "adult" or rng.random() < 0.6 else rng.choice(names.SURNAMES[e]),
                         dob.date(), s, e, bool(hh["disabled"][i]) if seq == 0 else bool(rng.random() < 0.08)))
    return pd.DataFrame(rows, columns=["household_id", "person_seq", "role", "first_name", "last_name",
                                       "date_of_birth", "sex", "ethnicity", "disabled"])
