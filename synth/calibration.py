"""The calibration table: each published figure the borough must reproduce, what it generated, and
whether that is in range. Targets cite ../shared/CALIBRATION.md (section and row) and its sources.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Target:
    figure: str
    low: float
    high: float
    source: str


TARGETS = [
    Target("Homelessness duties per 1,000 households a year", 13, 17,
           "Homelessness: rate per 1,000 (EST England 13.5, London 16.7); DLUHC 2023-24"),
    Target("Prevention share of duties", 0.40, 0.50, "Homelessness: 146,430 of 324,990 duties; DLUHC 2023-24"),
    Target("Single households, share of prevention duties", 0.50, 0.64, "Homelessness: 57%; DLUHC infographic"),
    Target("Single households, share of relief duties", 0.65, 0.80, "Homelessness: 73%; DLUHC infographic"),
    Target("End of private tenancy, share of prevention duties", 0.30, 0.45, "Homelessness: ~39%; DLUHC release"),
    Target("End of private tenancy, share of all duties", 0.20, 0.30, "Homelessness: ~25%; DLUHC release"),
    Target("Family or friends no longer willing, share of relief duties", 0.25, 0.37,
           "Homelessness: ~31%; DLUHC quarterly 2022"),
    Target("Domestic abuse, share of relief duties", 0.12, 0.21, "Homelessness: 16-17%; DLUHC 2021-24"),
    Target("Rent arrears, share of duties", 0.04, 0.09, "Homelessness: EST 5-8%"),
    Target("Social tenants, share of duties", 0.06, 0.14, "Homelessness: EST 8-12%"),
    Target("Black vs White households, relative risk of a duty", 2.0, 4.5,
           "Homelessness: ~3.5x; Ethnicity facts and figures, Heriot-Watt (through pathways only)"),
    Target("Oracle AUC (p_true, 6-month outcome)", 0.78, 0.92, "Issue: neither trivial nor noise"),
    Target("Oracle lift in the top 1%", 15, 40, "Homelessness: NSW model 30x (top 1%); Los Angeles 27x"),
    Target("Fuel poverty rate (LILEE)", 0.09, 0.135, "Fuel poverty: England 11.0%, London 10.4%; DESNZ 2024"),
    Target("Fuel poverty, private renters", 0.18, 0.32, "Fuel poverty: private renters ~25%; BRE 2020"),
    Target("Fuel poverty, private renters vs owners", 1.8, 3.5, "Relationships: private renters ~2-3x owners"),
    Target("Fuel poverty, social renters", 0.08, 0.16, "Fuel poverty: EST social renters 11-14%"),
    Target("Fuel poverty, lone-parent households", 0.18, 0.35, "Fuel poverty: single parents ~26.5%; BRE 2020"),
    Target("Fuel poverty, head aged under 25", 0.18, 0.38, "Fuel poverty: head aged 16-24 ~28%; BRE 2020"),
    Target("Fuel poverty, ethnic minority vs White", 1.2, 2.0, "Fuel poverty: 19.1% vs 12.6%; BRE 2020"),
    Target("Low-income households in band C or better", 0.50, 0.68, "Fuel poverty: 59.5%; DESNZ 2024"),
    Target("Rent arrears as % of annual rent debit", 0.025, 0.10,
           "Rent arrears: median 2.6-2.8%, urban to ~10%; HouseMark"),
    Target("Social tenants in arrears, Universal Credit", 0.35, 0.60, "Rent arrears: 48%; NHF 2024"),
    Target("Social tenants in arrears, others", 0.15, 0.35, "Rent arrears: 28%; NHF 2024"),
    Target("Arrears, Universal Credit vs others", 1.4, 2.4, "Relationships: UC ~1.7x as likely in arrears"),
    Target("Council tax in-year collection", 0.94, 0.97, "Council tax: 95.9% England, EST London 95-96%"),
    Target("Council tax reminders per 100 properties a year", 25, 35, "Council tax: EST London 25-35"),
    Target("Council tax summonses per 100 properties a year", 10, 15, "Council tax: EST London 10-15"),
    Target("Enforcement agent referrals per 100 properties a year", 3, 5, "Council tax: EST London 3-5"),
    Target("Single person discount, share of dwellings", 0.28, 0.38, "Council tax: ~33%; council taxbase 2023"),
    Target("Council Tax Reduction, share of households", 0.08, 0.20, "Council tax: 2.4m working-age claimants (IFS)"),
    Target("Owner-occupiers", 0.40, 0.50, "Borough scale: LBBD 44%, London 46.7%"),
    Target("Private renters", 0.25, 0.35, "Borough scale: London 30.1%"),
    Target("Social renters", 0.19, 0.28, "Borough scale: London 23.1%, LBBD council 24%"),
    Target("Council tax bands, largest gap to London shares (points)", 0, 3, "Council tax: VOA band shares 2024"),
    Target("Mean weekly council rent (GBP)", 105, 135, "Rent arrears: EST London council ~GBP 115-130"),
]
_LONDON_BANDS = dict(zip("ABCDEFGH", [3.9, 13.0, 27.0, 25.4, 15.2, 7.7, 5.9, 1.8], strict=False))


def _measure(data: Path) -> dict:
    ex, tr = data / "extracts", data / "truth"
    manifest = pd.read_json(data / "manifest.json", typ="series")
    start, end = pd.Timestamp(manifest["start"]), pd.Timestamp(manifest["extract_date"])
    years = ((end - start).days + 1) / 365.25
    panel = pd.read_parquet(tr / "panel.parquet")
    households = pd.read_parquet(tr / "households.parquet").set_index("household_id")
    props = pd.read_parquet(tr / "properties.parquet")
    panel["tenure"] = panel["household_id"].map(households["tenure"])
    resident = panel.groupby("as_of").size().mean()
    cases = pd.read_csv(ex / "homelessness/cases.csv", parse_dates=["approach_date"])
    cases = cases[cases["approach_date"] >= start]
    cross = pd.read_parquet(tr / "crosswalk.parquet")
    case_tenure = cases["case_ref"].map(cross.set_index("record_id")["household_id"]).map(households["tenure"])
    prevention, relief = cases[cases["duty_owed"] == "prevention"], cases[cases["duty_owed"] == "relief"]
    reason = cases["reason_for_loss_of_settled_home"]

    def share(frame, text):
        return (frame["reason_for_loss_of_settled_home"] == text).mean()

    eth = panel["household_id"].map(households["ethnicity"])
    event_rate = panel.groupby(eth)["event"].mean()
    truth_h = pd.read_parquet(tr / "homelessness.parquet")
    auc, lift = oracle_skill(truth_h)

    fuel = panel
    comp = panel["household_id"].map(households["composition"])
    age = panel["household_id"].map(households["age"])
    fp = fuel.groupby("tenure")["fuel_poor"].mean()
    low = panel[panel["low_income"]]
    band = low["household_id"].map(households["uprn"]).map(props.set_index("uprn")["epc_band"])
    minority = panel.groupby(eth == "White")["fuel_poor"].mean()

    social = panel[panel["in_rent_system"] & panel["rent_arrears_weeks"].notna()]
    in_arrears = social["rent_arrears_weeks"] > 1
    uc_rate, other_rate = in_arrears[social["universal_credit"]].mean(), in_arrears[~social["universal_credit"]].mean()
    rent = pd.read_parquet(ex / "rent/transactions")
    year1 = rent[(rent["transaction_date"] >= start) & (rent["transaction_date"] < start + pd.DateOffset(years=1))]
    debit = year1.loc[year1["transaction_type"] == "rent_charge", "amount"].sum()
    year_end = social[social["as_of"] == start + pd.DateOffset(months=11)]
    weekly = pd.read_csv(ex / "rent/tenancies.csv")
    rent_by_ref = weekly.set_index("tenancy_ref")["weekly_rent"]
    arrears_pounds = (year_end["rent_arrears_weeks"].clip(lower=0)
                      * year_end["household_id"].map(_weekly_rent_by_household(weekly, cross, rent_by_ref))).sum()

    ct = pd.read_parquet(ex / "council_tax/transactions")
    fy = ct[(ct["transaction_date"] >= start) & (ct["transaction_date"] < start + pd.DateOffset(years=1))]
    billed = fy.loc[fy["transaction_type"].isin(["annual_bill", "single_person_discount", "council_tax_reduction"]),
                    "amount"].sum()
    paid = -fy.loc[fy["transaction_type"].isin(["payment", "direct_debit"]), "amount"].sum()
    recovery = pd.read_csv(ex / "council_tax/recovery.csv", parse_dates=["action_date"])
    recovery = recovery[recovery["action_date"] >= start]
    per100 = recovery["stage"].value_counts() / len(props) * 100 / years
    tenure_share = props["tenure"].value_counts(normalize=True)
    bands = props["ct_band"].value_counts(normalize=True) * 100
    council = weekly[weekly["landlord"] == "council"]["weekly_rent"]
    return {
        TARGETS[0].figure: len(cases) / resident / years * 1000,
        TARGETS[1].figure: (cases["duty_owed"] == "prevention").mean(),
        TARGETS[2].figure: (prevention["household_type"] == "single").mean(),
        TARGETS[3].figure: (relief["household_type"] == "single").mean(),
        TARGETS[4].figure: share(prevention, "End of private rented tenancy"),
        TARGETS[5].figure: share(cases, "End of private rented tenancy"),
        TARGETS[6].figure: share(relief, "Family or friends no longer willing or able to accommodate"),
        TARGETS[7].figure: share(relief, "Domestic abuse"),
        TARGETS[8].figure: (reason == "Rent arrears").mean(),
        TARGETS[9].figure: case_tenure.isin(["council", "housing_association"]).mean(),
        TARGETS[10].figure: _ratio(event_rate.get("Black", np.nan), event_rate.get("White", 0)),
        TARGETS[11].figure: auc,
        TARGETS[12].figure: lift,
        TARGETS[13].figure: panel["fuel_poor"].mean(),
        TARGETS[14].figure: fp.get("private", np.nan),
        TARGETS[15].figure: _ratio(fp.get("private", np.nan), fp.get("owner", 0)),
        TARGETS[16].figure: panel[panel["tenure"].isin(["council", "housing_association"])]["fuel_poor"].mean(),
        TARGETS[17].figure: panel[comp == "lone_parent"]["fuel_poor"].mean(),
        TARGETS[18].figure: panel[age < 25]["fuel_poor"].mean(),
        TARGETS[19].figure: _ratio(minority.get(False, np.nan), minority.get(True, 0)),
        TARGETS[20].figure: band.isin(["A", "B", "C"]).mean(),
        TARGETS[21].figure: _ratio(arrears_pounds, debit),
        TARGETS[22].figure: uc_rate,
        TARGETS[23].figure: other_rate,
        TARGETS[24].figure: _ratio(uc_rate, other_rate),
        TARGETS[25].figure: _ratio(paid, billed),
        TARGETS[26].figure: per100.get("reminder", 0),
        TARGETS[27].figure: per100.get("summons", 0),
        TARGETS[28].figure: per100.get("enforcement_agent", 0),
        TARGETS[29].figure: panel["single_person_discount"].mean(),
        TARGETS[30].figure: panel["council_tax_reduction"].mean(),
        TARGETS[31].figure: tenure_share.get("owner", 0),
        TARGETS[32].figure: tenure_share.get("private", 0),
        TARGETS[33].figure: tenure_share.get("council", 0) + tenure_share.get("housing_association", 0),
        TARGETS[34].figure: max(abs(bands.get(b, 0) - s) for b, s in _LONDON_BANDS.items()),
        TARGETS[35].figure: council.mean(),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _weekly_rent_by_household(tenancies, cross, rent_by_ref) -> pd.Series:
    rent_cross = cross[cross["source"] == "rent"].set_index("record_id")["household_id"]
    return pd.Series(tenancies["weekly_rent"].to_numpy(),
                     index=tenancies["tenancy_ref"].map(rent_cross).to_numpy()).groupby(level=0).last()


def oracle_skill(truth_h: pd.DataFrame) -> tuple[float, float]:
    """Pooled ROC AUC of p_true, and the mean over as-of dates of the top-1% lift."""
    from scipy.stats import rankdata  # scipy ships with scikit-learn's dependencies

    y = truth_h["outcome"].to_numpy()
    ranks = rankdata(truth_h["p_true"].to_numpy())
    pos = y == 1
    auc = (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())
    lifts = []
    for _, g in truth_h.groupby("as_of"):
        k = max(1, len(g) // 100)
        base = g["outcome"].mean()
        if base > 0:
            lifts.append(g.nlargest(k, "p_true")["outcome"].mean() / base)
    return float(auc), float(np.mean(lifts))


def calibration_table(data: Path) -> pd.DataFrame:
    measured = _measure(Path(data))
    rows = [{"figure": t.figure, "generated": measured[t.figure], "low": t.low, "high": t.high,
             "in_range": bool(t.low <= measured[t.figure] <= t.high), "source": t.source} for t in TARGETS]
    return pd.DataFrame(rows)
