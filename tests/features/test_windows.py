"""Point-in-time windows on hand-made records: what each as-of date may see."""
import ibis
import pandas as pd

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
