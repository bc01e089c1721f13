"""Equality attributes are what the council knew before the as-of date, about this occupancy."""
import pandas as pd

from features.equality import NOT_RECORDED, attributes


def person(uprn, known, ethnicity="Black", sex="F", dob="1990-01-01", lone=None):
    return {"uprn": uprn, "known": pd.Timestamp(known), "sex": sex, "ethnicity": ethnicity, "disability": "N",
            "date_of_birth": pd.Timestamp(dob), "lone_parent": lone}


def rows(*as_of, occ_start="2023-01-01", uprn=1):
    return pd.DataFrame({"household_key": "k", "as_of": pd.to_datetime(list(as_of)), "uprn": uprn,
                         "occ_start": pd.Timestamp(occ_start)})


def test_a_record_is_used_only_from_the_month_after_the_council_learnt_it():
    people = pd.DataFrame([person(1, "2024-03-01")])
    found = attributes(rows("2024-03-01", "2024-04-01"), people)
    assert found["ethnicity"].tolist() == [NOT_RECORDED, "Black"]  # not on the day itself: strictly before
    assert found["sex"].tolist() == [NOT_RECORDED, "Female"]


def test_the_latest_record_wins_and_a_previous_occupants_record_is_not_used():
    people = pd.DataFrame([person(1, "2020-01-01", ethnicity="White"), person(1, "2024-02-01", ethnicity="Asian")])
    found = attributes(rows("2024-01-01", "2024-06-01", occ_start="2023-06-01"), people)
    assert found["ethnicity"].tolist() == [NOT_RECORDED, "Asian"]  # 2020 was someone else's tenancy


def test_of_two_records_made_the_same_day_the_last_listed_wins():
    people = pd.DataFrame([person(1, "2024-02-01", ethnicity="White"), person(1, "2024-02-01", ethnicity="Asian")])
    assert attributes(rows("2024-06-01"), people)["ethnicity"].tolist() == ["Asian"]


def test_blanks_and_refusals_are_not_recorded_and_age_is_banded_at_the_as_of_date():
    people = pd.DataFrame([person(1, "2023-02-01", ethnicity="Prefer not to say", sex="", dob="2000-06-01",
                                  lone="Lone parent")])
    found = attributes(rows("2024-05-01", "2025-07-01"), people)
    assert found["ethnicity"].tolist() == [NOT_RECORDED] * 2 and found["sex"].tolist() == [NOT_RECORDED] * 2
    assert found["age_band"].tolist() == ["16-24", "25-34"]
    assert found["lone_parent"].tolist() == ["Lone parent"] * 2
