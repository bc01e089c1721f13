"""Point-in-time windows on hand-made records: what each as-of date may see."""
import ibis
import numpy as np
import pandas as pd
import pytest

from features import windows


def test_council_tax_balance_and_year_to_date_at_each_as_of_date():
    """The balance counts every earlier posting (also across a year without any); the bill, reductions and
    discounts only the financial year's postings made before the as-of date."""
    con = ibis.duckdb.connect()
    postings = pd.DataFrame({
        "account_ref": "A1",
        "posting_date": pd.to_datetime(["2022-04-01", "2022-05-10", "2022-05-31", "2024-04-01", "2024-06-15"]),
        "transaction_type": ["annual_bill", "payment", "council_tax_reduction", "annual_bill", "payment"],
        "amount": [1200.10, -100.05, -300.0, 1300.0, -50.0]})
    as_of = pd.to_datetime(["2022-05-01", "2022-06-01", "2023-04-01", "2024-04-01", "2024-07-01"])
    spine = pd.DataFrame({"row": range(5), "account_ref": "A1", "as_of": as_of,
                          "fy_start": pd.to_datetime(["2022-04-01"] * 3 + ["2023-04-01", "2024-04-01"])})
    empty = pd.DataFrame({"account_ref": pd.Series(dtype=str), "posting_date": pd.Series(dtype="datetime64[us]")})
    t = {"ct_tx": con.create_table("ct_tx", postings),
         "ct_recovery": con.create_table("rec", empty.assign(level=pd.Series(dtype="int64"))),
         "ct_discounts": con.create_table("disc", empty.assign(change=pd.Series(dtype=str)))}
    money, _, _ = windows.council_tax(con.create_table("spine", spine), t)
    got = money.to_pandas().sort_values("row").reset_index(drop=True)
    assert got["ct_balance"].tolist() == [1200.10, 800.05, 800.05, 800.05, 2050.05]
    assert got["ct_year_billed"].tolist() == [1200.10, 900.10, 900.10, 0.0, 1300.0]
    assert got["ct_reduction"].tolist() == [False, True, True, False, False]


def test_totals_before_cutoffs_inside_months_and_whole_months_back():
    """Totals before 4, 13 and 26 weeks and 1 and 6 months back equal a direct sum, for events on every day of
    the month (those of the first and last days are the ones moving across a month end), at every month start
    of two years (leap February included), for a key whose events start after some as-of dates."""
    con = ibis.duckdb.connect()
    rng = np.random.default_rng(7)
    dates = pd.to_datetime(rng.choice(pd.date_range("2022-06-01", "2024-12-31"), 3000))
    events = pd.DataFrame({"ref": rng.choice(["A", "B"], len(dates)), "date": dates,
                           "amount": rng.integers(-5000, 5000, len(dates)) / 100})
    events.loc[(events.ref == "B") & (events.date < "2023-09-01"), "ref"] = "A"
    as_of = pd.date_range("2023-01-01", "2025-01-01", freq="MS")
    rows = pd.DataFrame([(k, d) for k in "AB" for d in as_of], columns=["ref", "as_of"])
    cutoffs = {"now": {"days": 0}, "4w": {"days": 28}, "13w": {"days": 91}, "26w": {"days": 182},
               "m1": {"months": 1}, "m6": {"months": 6}}
    got = windows.totals_before(con.create_table("events", events), con.create_table("rows", rows), "ref",
                                cutoffs, {"amount": list(cutoffs)}).to_pandas()
    got = got.sort_values(["ref", "as_of"]).reset_index(drop=True)
    for label, back in cutoffs.items():
        expected = [round(events.amount[(events.ref == k) & (events.date < d - pd.DateOffset(**back))].sum(), 2)
                    for k, d in zip(got.ref, got.as_of)]
        assert got[f"amount_{label}"].tolist() == pytest.approx(expected, abs=1e-9), label


def test_recovery_actions_count_the_last_12_months_and_date_the_last_action_of_all():
    """Counts and the highest stage see the last 6 or 12 months only; the months since the last action see every
    earlier action, however old, and none on or after the as-of date."""
    con = ibis.duckdb.connect()
    rec = pd.DataFrame({"account_ref": ["A1"] * 4 + ["B2"],
                        "posting_date": pd.to_datetime(["2021-03-15", "2023-02-01", "2023-08-31", "2024-01-01",
                                                        "2023-12-31"]),
                        "level": [5, 1, 3, 2, 4]})
    as_of = pd.to_datetime(["2021-03-01", "2022-06-01", "2023-09-01", "2024-01-01", "2024-02-01"])
    spine = pd.DataFrame({"row": range(5), "account_ref": "A1", "as_of": as_of})
    got = windows.recovery_actions(con.create_table("spine", spine), con.create_table("rec", rec))
    got = got.to_pandas().sort_values("row").set_index("row")
    assert got.index.tolist() == [1, 2, 3, 4]  # nothing before 15 March 2021
    assert got["ct_highest_stage_12m"].fillna(0).tolist() == [0, 3, 3, 3]  # none in the 12 months to June 2022
    assert got["ct_reminders_12m"].fillna(0).tolist() == [0, 1, 1, 2]
    assert got["ct_summonses_6m"].fillna(0).tolist() == [0, 1, 1, 1]
    expected = [(d - last).days / windows.DAYS_PER_MONTH for d, last in
                zip(as_of[1:], pd.to_datetime(["2021-03-15", "2023-08-31", "2023-08-31", "2024-01-01"]))]
    assert got["ct_months_since_action"].tolist() == pytest.approx(expected)
