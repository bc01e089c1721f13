"""Every record ends linked to a UPRN or explicitly unmatched; address matching is precise."""
import shutil

import pandas as pd
import pytest

from features.linkage import LINK_COLUMNS, LINKED_SOURCES, link
from features.sources import load_table
from synth import linkage_report


def test_output_contract(small_links):
    assert list(small_links.columns) == LINK_COLUMNS
    assert set(small_links["method"]) <= {"exact", "address", "unmatched"}
    assert small_links["score"].between(0, 1).all()
    linked = small_links["method"] != "unmatched"
    assert small_links.loc[linked, "uprn"].notna().all() and small_links.loc[~linked, "uprn"].isna().all()
    assert (small_links.loc[small_links["method"] == "exact", "score"] == 1).all()


@pytest.mark.parametrize("spec", LINKED_SOURCES, ids=lambda s: s.source)
def test_no_record_is_dropped(small_borough, small_links, spec):
    loaded = load_table(small_borough, spec.table)
    keys = set(loaded.data[spec.key]) | set(loaded.quarantine[spec.key])
    assert set(small_links.loc[small_links["source"] == spec.source, "record_id"]) == keys


def test_records_without_a_uprn_are_linked_precisely(small_borough, small_links):
    report = linkage_report(small_links, small_borough).set_index("source")
    assert report.loc["all", "without_uprn"] > 500
    assert report.loc["all", "precision_without_uprn"] >= 0.99
    assert report.loc["all", "recall_without_uprn"] >= 0.95
    assert report.loc["all", "precision_all"] >= 0.99


def test_an_invalid_uprn_falls_back_to_the_address(small_borough, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(small_borough / "extracts", copy / "extracts")
    path = copy / "extracts" / "council_tax" / "accounts.csv"
    accounts = pd.read_csv(path, dtype=str, keep_default_na=False)
    has = accounts.index[accounts["uprn"] != ""][:5]
    true_uprns = accounts.loc[has, "uprn"].astype(int).tolist()
    accounts.loc[has, "uprn"] = "999999999999"  # not in the gazetteer
    accounts.to_csv(path, index=False)
    links = link(copy).set_index("record_id")
    ct = links.loc[accounts.loc[has, "account_ref"]]
    assert (ct["method"] == "address").all()
    assert ct["uprn"].tolist() == true_uprns
