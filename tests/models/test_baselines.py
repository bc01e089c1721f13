"""The rules councils use today, exactly as the issue states them."""
import numpy as np
import pandas as pd

from models.baselines import rule_flag


def test_homelessness_rule_is_8_weeks_of_arrears_or_a_recent_liability_order():
    frame = pd.DataFrame({"rent_arrears_weeks": [9, 8, 7.9, np.nan, 0, np.nan],
                          "ct_liability_orders_6m": [0, 0, 0, 1, 2, 0]})
    assert rule_flag(frame, "homelessness").tolist() == [1, 1, 0, 1, 1, 0]


def test_fuel_poverty_rule_is_band_d_to_g_and_a_means_tested_benefit():
    # EPC bands are coded A=1 ... G=7, so D to G is 4 and above
    frame = pd.DataFrame({"epc_band": [4, 7, 3, 5, 6, np.nan, 4],
                          "hb_active": [1, 0, 1, 0, 0, 1, 0], "ctr_active": [0, 1, 0, 0, 0, 1, 0],
                          "rent_universal_credit_direct": [0, 0, 0, 1, 0, 1, 0]})
    assert rule_flag(frame, "fuel_poverty").tolist() == [1, 1, 0, 1, 0, 0, 0]
