"""Household keys are HMAC-SHA256 of the occupancy under the secret, however many are made at once."""
import pandas as pd
import pytest

from features.pseudonym import household_key, household_keys


@pytest.mark.parametrize("secret", [b"", b"council", b"k" * 64, b"long secret " * 20], ids=len)
def test_keys_made_in_bulk_are_the_keys_made_one_at_a_time(secret):
    uprns = pd.Series([100090000003.0, 7.0, 100090000003.0], index=[5, 3, 9])
    starts = pd.Series(pd.to_datetime(["2019-04-01", "1969-12-31 12:00", "2024-02-29"], format="ISO8601"),
                       index=[5, 3, 9])
    keys = household_keys(uprns, starts, secret)
    assert list(keys.index) == [5, 3, 9]
    assert keys.tolist() == [household_key(100090000003, "2019-04-01", secret), household_key(7, "1969-12-31", secret),
                             household_key(100090000003, "2024-02-29", secret)]
