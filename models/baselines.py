"""What the model must beat, on the same splits: the rule a council uses today and a logistic regression.

A rule flags households and has no order among them, so it scores 1 or 0; at capacity a month's flagged
households are taken in key order, which is random with respect to risk (keys are keyed hashes), so the
rule's precision at capacity is that of its flagged list.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

RULES = {
    "homelessness": "rent arrears of 8 weeks or more, or a council tax liability order in the last 6 months",
    "fuel_poverty": "EPC band D to G and a means-tested benefit (Housing Benefit, Council Tax Reduction or "
                    "Universal Credit paid to the landlord)",
}

RULE_COLUMNS = ["rent_arrears_weeks", "ct_liability_orders_6m", "hb_active", "ctr_active",
                "rent_universal_credit_direct", "epc_band"]


def rule_flag(frame: pd.DataFrame, target: str) -> np.ndarray:
    if target == "homelessness":
        flag = (frame["rent_arrears_weeks"].fillna(0) >= 8) | (frame["ct_liability_orders_6m"] > 0)
    else:
        means_tested = ((frame["hb_active"] == 1) | (frame["ctr_active"] == 1)
                        | (frame["rent_universal_credit_direct"] == 1))
        flag = (frame["epc_band"].fillna(0) >= 4) & means_tested
    return flag.to_numpy().astype("float64")


def logistic_regression(features: list[str], seed: int):
    """Median-imputed with missing indicators, standardised, the ward one-hot encoded."""
    numeric = [f for f in features if f != "ward"]
    steps = [("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                     keep_empty_features=True), StandardScaler()), numeric)]
    if "ward" in features:
        steps.append(("ward", OneHotEncoder(handle_unknown="ignore"), ["ward"]))
    return make_pipeline(ColumnTransformer(steps), LogisticRegression(max_iter=500, C=0.1, random_state=seed))
