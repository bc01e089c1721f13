"""Money in a household's month: income, benefit entitlement, housing and energy costs, LILEE.

All amounts are monthly pounds unless named `annual_`. Figures are 2023-24 levels (UC standard
allowance, state pension, Band D, Ofgem cap) rounded; the calibration table checks the outcomes.
"""
from __future__ import annotations

import numpy as np

from synth.households import COUPLE, COUPLE_CHILDREN

BAND_D_ANNUAL = 1_900.0
CT_BAND_RATIO = {"A": 6 / 9, "B": 7 / 9, "C": 8 / 9, "D": 1.0, "E": 11 / 9, "F": 13 / 9, "G": 15 / 9, "H": 18 / 9}
ENERGY_ANNUAL_BY_BAND = {"A": 750, "B": 950, "C": 1_250, "D": 1_650, "E": 2_100, "F": 2_650, "G": 3_300}
LOW_EFFICIENCY_BANDS = ["D", "E", "F", "G"]  # fuel poverty energy efficiency rating D-G
# 60% of the median equivalised income after housing and energy costs (LILEE poverty line), per year.
LILEE_POVERTY_LINE = 10_000.0
UC_WAIT_MONTHS = 1  # the five-week wait: the first month of a new Universal Credit claim pays nothing


def equivalisation(adults: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Modified OECD scale after housing costs, a couple with no children = 1."""
    return 0.58 + 0.42 * (adults - 1) + 0.2 * children


def net_earnings(h: dict) -> np.ndarray:
    return (h["employed"] * h["earnings"] * 0.78 * h["shock"] + h["second_earnings"] * 0.8) / 12


def housing_cost(h: dict, weekly_rent: np.ndarray, private_rent: np.ndarray) -> np.ndarray:
    return np.nan_to_num(weekly_rent * 52 / 12) + np.nan_to_num(private_rent) + h["mortgage"]


def universal_credit(h: dict, earnings: np.ndarray, housing: np.ndarray, renting: np.ndarray) -> np.ndarray:
    couple = np.isin(h["composition"], [COUPLE, COUPLE_CHILDREN])
    allowance = np.where(couple, 620.0, 395.0) + 150.0 * h["children"] + 390.0 * h["disabled"]
    # Local Housing Allowance caps private rent support; social rent is met in full.
    housing_element = np.where(renting, np.minimum(housing, 1_350.0 + 120.0 * h["children"]), 0.0)
    work_allowance = np.where((h["children"] > 0) | h["disabled"], 400.0, 0.0)
    taper = 0.55 * np.maximum(earnings - work_allowance, 0)
    return np.maximum(allowance + housing_element - taper, 0.0), housing_element


def pensioner_support(h: dict, income: np.ndarray, housing: np.ndarray, renting: np.ndarray) -> np.ndarray:
    """Pension Credit top-up plus Housing Benefit for pensioners on low incomes."""
    guarantee = np.where(h["adults"] > 1, 1_500.0, 980.0)
    credit = np.maximum(guarantee - income, 0)
    hb = np.where(renting, np.maximum(housing - 0.65 * np.maximum(income + credit - guarantee, 0), 0), 0)
    return credit, hb


def council_tax(band: np.ndarray, adults: np.ndarray, ctr: np.ndarray, pensioner: np.ndarray) -> tuple:
    """Annual charge, single person discount and Council Tax Reduction (pensioners 100%, others 75%)."""
    charge = BAND_D_ANNUAL * np.array([CT_BAND_RATIO[b] for b in band])
    spd = np.where(adults == 1, 0.25 * charge, 0.0)
    reduction = np.where(ctr, np.where(pensioner, 1.0, 0.75) * (charge - spd), 0.0)
    return charge, spd, reduction


def energy_cost(band: np.ndarray, people: np.ndarray, bedrooms: np.ndarray, price_index: float) -> np.ndarray:
    base = np.array([ENERGY_ANNUAL_BY_BAND[b] for b in band])
    return base * (0.75 + 0.12 * people) * (0.85 + 0.08 * bedrooms) * price_index / 12


def lilee(income: np.ndarray, housing: np.ndarray, ct_net: np.ndarray, energy: np.ndarray,
          adults: np.ndarray, children: np.ndarray, epc_band: np.ndarray) -> tuple:
    """Low Income Low Energy Efficiency: returns (fuel_poor, equivalised residual income per year)."""
    residual = 12 * (income - housing - ct_net - energy) / equivalisation(adults, children)
    low_efficiency = np.isin(epc_band, LOW_EFFICIENCY_BANDS)
    return low_efficiency & (residual < LILEE_POVERTY_LINE), residual
