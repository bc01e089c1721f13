"""Which records are linked to a property, and where each system keeps the UPRN and address."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.sources import LoadResult, load_table


@dataclass(frozen=True)
class LinkedSource:
    source: str  # the extract's folder name
    table: str
    key: str
    uprn: str
    address: str | None = None
    postcode: str | None = None


LINKED_SOURCES = (
    LinkedSource("rent", "rent/tenancies", "tenancy_ref", "uprn", "address", "postcode"),
    LinkedSource("council_tax", "council_tax/accounts", "account_ref", "uprn", "address", "postcode"),
    LinkedSource("benefits", "benefits/claims", "claim_ref", "uprn", "address", "postcode"),
    LinkedSource("epc", "epc/certificates", "lmk_key", "uprn", "address", "postcode"),
    LinkedSource("homelessness", "homelessness/cases", "case_ref", "last_settled_uprn", "last_settled_address",
                 "last_settled_postcode"),
    LinkedSource("fuel_poverty", "fuel_poverty/assessments", "assessment_ref", "uprn", "address", "postcode"),
)


def records(data_dir, spec: LinkedSource) -> pd.DataFrame:
    """One row per record (quarantined rows too: linkage drops nothing): key, recorded UPRN, address."""
    result: LoadResult = load_table(data_dir, spec.table)
    accepted = result.data.assign(_accepted=True)
    rejected = result.quarantine.assign(_accepted=False)
    frame = pd.concat([accepted, rejected], ignore_index=True).drop_duplicates(spec.key, keep="first")
    return pd.DataFrame({
        "source": spec.source,
        "record_id": frame[spec.key].astype(str).to_numpy(),
        "recorded_uprn": pd.to_numeric(frame[spec.uprn], errors="coerce").astype("Int64").to_numpy(),
        "address": frame[spec.address].to_numpy() if spec.address else None,
        "postcode": frame[spec.postcode].to_numpy() if spec.postcode else None,
    })
