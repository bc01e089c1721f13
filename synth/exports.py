"""Turn a partition's records into what each council system would export, and the truth behind them.

Each system has its own keys, its own address habits and its own gaps; the crosswalk in truth/ maps
every entity record back to the household and property it really belongs to.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth import messy, names
from synth.calendar import month_start
from synth.world import single_line_address

DMY = "%d/%m/%Y"  # the benefits system exports UK-style dates


def _dates(values, fmt: str) -> np.ndarray:
    return pd.Series(pd.to_datetime(np.asarray(values))).dt.strftime(fmt).to_numpy()


def _iso(values) -> np.ndarray:
    return _dates(values, "%Y-%m-%d")


def _dmy(values) -> np.ndarray:
    return _dates(values, DMY)


def _ref(prefix: str, ids) -> pd.Series:
    return pd.Series([f"{prefix}{i}" for i in ids], dtype=object)


def _some_uprns(rng, frame: pd.DataFrame, missing: float) -> pd.Series:
    """The true UPRN, left blank for a share of records (systems that do not always hold one)."""
    return messy.blank_some(rng, frame["uprn"].astype("Int64"), missing)


def _lag(rng, dates, low: int, high: int) -> pd.Series:
    """When a dated event was keyed in: a few days later."""
    return pd.to_datetime(dates) + pd.to_timedelta(rng.integers(low, high, len(dates)), unit="D")


def _serial(prefix: str, partition: int, count: int) -> pd.Series:
    """Row keys for event tables: a partition block then a sequence, so keys never collide."""
    return _ref(prefix, (partition + 1) * 1_000_000_000 + np.arange(count))


def _people_fields(rs, name: str, people: pd.DataFrame, ethnicity_blank: float, placeholders) -> pd.DataFrame:
    return pd.DataFrame({
        "first_name": people["first_name"].to_numpy(),
        "last_name": people["last_name"].to_numpy(),
        "date_of_birth": messy.blank_some(rs(f"{name}/dob"), _iso(people["date_of_birth"]), 0.03).to_numpy(),
        "sex": messy.blank_some(rs(f"{name}/sex"), people["sex"], 0.02).to_numpy(),
        "ethnicity": messy.blank_some(rs(f"{name}/ethnicity"), people["ethnicity"], ethnicity_blank,
                                      placeholders).to_numpy(),
        "disability": messy.blank_some(rs(f"{name}/disability"), np.where(people["disabled"], "Y", "N"), 0.3,
                                       placeholders).to_numpy(),
    })


def _end_dates(keys, ends: pd.DataFrame, key: str) -> np.ndarray:
    """The `end` recorded for each key (NaT where none): accounts, tenancies and claims that closed."""
    lookup = ends.drop_duplicates(key, keep="last").set_index(key)["end"]
    return pd.to_datetime(lookup).reindex(np.asarray(keys)).to_numpy()


def build(rs, props: pd.DataFrame, raw: dict, months: int, partition: int) -> tuple[dict, dict]:
    """Returns (extracts, truth): {"system/table": DataFrame} each.

    `rs(name)` gives a random stream per table and purpose, and every row is drawn for before rows
    posted after the extract date are cut, so a longer history extends a shorter one (prefix-stable).
    """
    extract_end = np.datetime64(month_start(months), "D") - 1
    by_uprn = props.set_index("uprn")
    people = raw["people"]
    lead = people[people["person_seq"] == 0].set_index("household_id")
    dep = raw.get("departures", pd.DataFrame(columns=["household_id", "move_out", "account_ref", "tenancy_ref",
                                                      "hb_claim", "ctr_claim"]))
    ex, truth, cross = {}, {}, []

    # --- gazetteer (LLPG): the canonical address list, clean by design
    ex["llpg/gazetteer"] = pd.DataFrame({
        "uprn": props["uprn"], "sao_text": [f"FLAT {f}" if isinstance(f, str) else "" for f in props["flat"]],
        "building_name": props["building"].fillna("").str.upper(), "pao_number": props["number"],
        "street": props["street"].str.upper(), "town": names.BOROUGH.upper(), "postcode": props["postcode"],
        "ward": props["ward"], "lsoa": props["small_area"], "property_type": props["property_type"],
        "address": single_line_address(props),
    })

    # --- housing rent system
    ten = raw.get("tenancies", pd.DataFrame(columns=["tenancy_ref", "household_id", "uprn", "landlord",
                                                     "start_date", "weekly_rent"]))
    ten_end = dep.loc[dep["tenancy_ref"] >= 0, ["tenancy_ref", "move_out"]].rename(columns={"move_out": "end"})
    ten_address, ten_postcode = messy.free_text_addresses(rs("rent/tenancies/address"),
                                                          by_uprn.loc[ten["uprn"]].reset_index(), "housing")
    tenancies = pd.DataFrame({
        "tenancy_ref": _ref("TEN", ten["tenancy_ref"]),
        "property_ref": _ref("HSG", ten["uprn"].map(by_uprn["property_index"])),
        "address": ten_address, "postcode": ten_postcode,
        "uprn": _some_uprns(rs("rent/tenancies/uprn"), ten, 0.02),
        "landlord": ten["landlord"].to_numpy(),
        "tenancy_start": _iso(ten["start_date"]),
        "tenancy_end": _iso(_end_dates(ten["tenancy_ref"], ten_end, "tenancy_ref")),
        "weekly_rent": np.round(ten["weekly_rent"].to_numpy(), 2),
    })
    ex["rent/tenancies"] = messy.corrupt_some(rs("rent/tenancies/corrupt"), tenancies, 0.0005, {"weekly_rent": -1.0})
    cross.append(pd.DataFrame({"source": "rent", "record_id": tenancies["tenancy_ref"],
                               "household_id": ten["household_id"].to_numpy(), "uprn": ten["uprn"].to_numpy()}))
    tp = people[people["household_id"].isin(ten["household_id"]) & people["role"].isin(["lead", "partner"])]
    tenancy_of = pd.Series(tenancies["tenancy_ref"].to_numpy(), index=ten["household_id"].to_numpy())
    tenancy_of = tenancy_of[~tenancy_of.index.duplicated()]
    ex["rent/tenants"] = tenants = pd.concat([pd.DataFrame({
        "person_ref": _ref("RP", (partition + 1) * 10_000_000 + np.arange(len(tp))),
        "tenancy_ref": tp["household_id"].map(tenancy_of).to_numpy(),
        "role": np.where(tp["role"] == "lead", "lead", "joint"),
    }), _people_fields(rs, "rent/tenants", tp, 0.3, messy.NOT_RECORDED)], axis=1)
    cross.append(pd.DataFrame({"source": "rent", "record_id": tenants["person_ref"],
                               "household_id": tp["household_id"].to_numpy(),
                               "uprn": tp["household_id"].map(_uprn_of(raw)).to_numpy()}))
    rt = raw.get("rent_transactions")
    if rt is not None:
        ex["rent/transactions"] = messy.corrupt_some(rs("rent/transactions/corrupt"), pd.DataFrame({
            "transaction_id": _serial("R", partition, len(rt)),
            "tenancy_ref": _ref("TEN", rt["account_ref"]),
            "transaction_date": pd.to_datetime(rt["transaction_date"].to_numpy()).astype("datetime64[ms]"),
            "posting_date": pd.to_datetime(rt["posting_date"].to_numpy()).astype("datetime64[ms]"),
            "transaction_type": rt["transaction_type"].to_numpy(),
            "amount": np.round(rt["amount"].to_numpy(), 2),
        }), 0.0002, {"transaction_type": "ZZ"})[(rt["posting_date"] <= extract_end).to_numpy()]

    # --- council tax system
    acc = raw["ct_accounts"]
    acc_props = by_uprn.loc[acc["uprn"]]
    address, postcode = messy.free_text_addresses(rs("council_tax/accounts/address"), acc_props.reset_index(),
                                                  "council_tax")
    acc_end = dep[["account_ref", "move_out"]].rename(columns={"move_out": "end"})
    liable = lead.loc[acc["household_id"]]
    accounts = pd.DataFrame({
        "account_ref": _ref("CT", acc["account_ref"]),
        "property_ref": _ref("CTP", acc_props["property_index"].to_numpy() + 500_000),
        "uprn": _some_uprns(rs("council_tax/accounts/uprn"), acc, 0.15),
        "address": address, "postcode": postcode,
        "liable_name": (liable["first_name"] + " " + liable["last_name"]).str.upper().to_numpy(),
        "account_start": _iso(acc["start_date"]),
        "account_end": _iso(_end_dates(acc["account_ref"], acc_end, "account_ref")),
        "band": acc_props["ct_band"].to_numpy(),
    })
    accounts = messy.corrupt_some(rs("council_tax/accounts/corrupt"), accounts, 0.0005, {"band": "Z"})
    ex["council_tax/accounts"] = messy.duplicate_some(rs("council_tax/accounts/duplicate"), accounts, 0.003)
    cross.append(pd.DataFrame({"source": "council_tax", "record_id": accounts["account_ref"],
                               "household_id": acc["household_id"].to_numpy(), "uprn": acc["uprn"].to_numpy()}))
    ct = raw.get("ct_transactions")
    if ct is not None:
        ex["council_tax/transactions"] = pd.DataFrame({
            "transaction_id": _serial("C", partition, len(ct)),
            "account_ref": _ref("CT", ct["account_ref"]),
            "transaction_date": pd.to_datetime(ct["transaction_date"].to_numpy()).astype("datetime64[ms]"),
            "posting_date": pd.to_datetime(ct["posting_date"].to_numpy()).astype("datetime64[ms]"),
            "transaction_type": ct["transaction_type"].to_numpy(),
            "amount": np.round(ct["amount"].to_numpy(), 2),
        })[(ct["posting_date"] <= extract_end).to_numpy()]
    rec = raw.get("ct_recovery", pd.DataFrame(columns=["account_ref", "stage", "action_date", "amount_outstanding"]))
    posted = _lag(rs("council_tax/recovery/lag"), rec["action_date"], 0, 4)
    keep = (posted <= pd.Timestamp(extract_end)).to_numpy()
    ex["council_tax/recovery"] = pd.DataFrame({
        "action_ref": _serial("REC", partition, len(rec))[keep].to_numpy(),
        "account_ref": _ref("CT", rec["account_ref"][keep]),
        "stage": rec["stage"].to_numpy()[keep], "action_date": _iso(rec["action_date"][keep]),
        "posting_date": _iso(posted[keep]), "amount_outstanding": rec["amount_outstanding"].to_numpy()[keep],
    })
    disc = raw.get("ct_discounts", pd.DataFrame(columns=["account_ref", "change_date", "discount", "change"]))
    disc = disc[pd.to_datetime(disc["change_date"]) + pd.Timedelta(days=7) <= pd.Timestamp(extract_end)]
    ex["council_tax/discounts"] = pd.DataFrame({
        "discount_ref": _serial("D", partition, len(raw.get("ct_discounts", disc)))[disc.index].to_numpy(),
        "account_ref": _ref("CT", disc["account_ref"]), "discount": disc["discount"].to_numpy(),
        "change": disc["change"].to_numpy(), "effective_date": _iso(disc["change_date"]),
        "posting_date": _iso(pd.to_datetime(disc["change_date"]) + pd.Timedelta(days=7)),
    })

    # --- benefits system (HB and CTR; Universal Credit is DWP's and shows up as changes on CTR claims)
    cl = raw.get("claims", pd.DataFrame(columns=["claim_ref", "household_id", "uprn", "benefit", "start_date",
                                                 "pensioner"]))
    ends = raw.get("claims_end", pd.DataFrame(columns=["claim_ref", "end_date"]))
    for col in ("hb_claim", "ctr_claim"):
        moved = dep.loc[dep[col] >= 0, [col, "move_out"]].rename(columns={col: "claim_ref", "move_out": "end_date"})
        ends = pd.concat([ends, moved])
    address, postcode = messy.free_text_addresses(rs("benefits/claims/address"), by_uprn.loc[cl["uprn"]].reset_index(),
                                                "benefits")
    claims = pd.DataFrame({
        "claim_ref": _ref("CL", cl["claim_ref"]), "benefit": cl["benefit"].to_numpy(),
        "address": address, "postcode": postcode,
        "uprn": _some_uprns(rs("benefits/claims/uprn"), cl, 0.6),
        "start_date": _dmy(cl["start_date"]),
        "end_date": _dmy(_end_dates(cl["claim_ref"], ends.rename(columns={"end_date": "end"}), "claim_ref")),
        "pensioner": np.where(cl["pensioner"].astype(bool), "Y", "N"),
    })
    ex["benefits/claims"] = messy.corrupt_some(rs("benefits/claims/corrupt"), claims, 0.0005,
                                               {"start_date": "31/02/2024"})
    cross.append(pd.DataFrame({"source": "benefits", "record_id": claims["claim_ref"],
                               "household_id": cl["household_id"].to_numpy(), "uprn": cl["uprn"].to_numpy()}))
    members = cl[["claim_ref", "household_id", "uprn"]].merge(people, on="household_id")
    role = members["role"].map({"lead": "claimant", "partner": "partner", "child": "dependant",
                                "adult": "non_dependant"})
    member_rows = pd.concat([pd.DataFrame({
        "member_ref": _ref("BM", (partition + 1) * 10_000_000 + np.arange(len(members))),
        "claim_ref": _ref("CL", members["claim_ref"]), "role": role.to_numpy(),
    }), _people_fields(rs, "benefits/members", members, 0.45, messy.NOT_RECORDED)], axis=1)
    ex["benefits/members"] = messy.duplicate_some(rs("benefits/members/duplicate"), member_rows, 0.002)
    cross.append(pd.DataFrame({"source": "benefits", "record_id": member_rows["member_ref"],
                               "household_id": members["household_id"].to_numpy(),
                               "uprn": members["uprn"].to_numpy()}))
    ch = raw.get("claim_changes", pd.DataFrame(columns=["claim_ref", "change_date", "change_type", "weekly_amount"]))
    ch_posted = _lag(rs("benefits/changes/lag"), ch["change_date"], 1, 21)
    keep = (ch_posted <= pd.Timestamp(extract_end)).to_numpy()
    ex["benefits/changes"] = pd.DataFrame({
        "change_ref": _serial("BC", partition, len(ch))[keep].to_numpy(),
        "claim_ref": _ref("CL", ch["claim_ref"][keep]), "change_type": ch["change_type"].to_numpy()[keep],
        "change_date": _dmy(ch["change_date"][keep]), "posting_date": _dmy(ch_posted[keep]),
        "weekly_amount": ch["weekly_amount"].to_numpy()[keep],
    })

    # --- EPC register (property-level)
    epc = raw.get("epc", pd.DataFrame(columns=["lmk_key", "property_index", "uprn", "lodgement_date", "sap"]))
    address, postcode = messy.free_text_addresses(rs("epc/address"), by_uprn.loc[epc["uprn"]].reset_index(), "casework")
    ex["epc/certificates"] = pd.DataFrame({
        "lmk_key": _ref("EPC", epc["lmk_key"]),
        "uprn": _some_uprns(rs("epc/uprn"), epc, 0.1),
        "address": address, "postcode": postcode, "lodgement_date": _iso(epc["lodgement_date"]),
        "current_energy_rating": _sap_band(epc["sap"].to_numpy()),
        "current_energy_efficiency": epc["sap"].to_numpy(),
        "property_type": by_uprn.loc[epc["uprn"], "property_type"].to_numpy(),
    })
    cross.append(pd.DataFrame({"source": "epc", "record_id": ex["epc/certificates"]["lmk_key"],
                               "household_id": pd.array([pd.NA] * len(epc), dtype="Int64"),
                               "uprn": epc["uprn"].to_numpy()}))

    # --- homelessness case system (H-CLIC)
    hc = raw.get("hclic", pd.DataFrame(columns=["case_ref", "household_id", "uprn", "approach_date", "decision_date",
                                                "duty", "reason", "applicant_role", "household_type",
                                                "support_need_abuse"]))
    applicant = _applicants(people, hc)
    address, postcode = messy.free_text_addresses(rs("homelessness/address"), by_uprn.loc[hc["uprn"]].reset_index(),
                                                "casework")
    cases = pd.DataFrame({
        "case_ref": _ref("HC", hc["case_ref"]), "approach_date": _iso(hc["approach_date"]),
        "decision_date": _iso(hc["decision_date"]), "duty_owed": hc["duty"].to_numpy(),
        "reason_for_loss_of_settled_home": hc["reason"].to_numpy(), "household_type": hc["household_type"].to_numpy(),
    })
    fields = _people_fields(rs, "homelessness/applicant", applicant, 0.12, ["", "Not known"]).add_prefix("applicant_")
    cases = pd.concat([cases, fields], axis=1)
    cases["last_settled_address"], cases["last_settled_postcode"] = address, postcode
    cases["last_settled_uprn"] = _some_uprns(rs("homelessness/uprn"), hc, 0.55)
    cases["support_need_domestic_abuse"] = np.where(hc["support_need_abuse"].astype(bool), "Y", "N")
    decided = (hc["decision_date"] <= extract_end).to_numpy()
    ex["homelessness/cases"] = cases = cases[decided].reset_index(drop=True)
    hc = hc[decided].reset_index(drop=True)
    cross.append(pd.DataFrame({"source": "homelessness", "record_id": cases["case_ref"],
                               "household_id": hc["household_id"].to_numpy(), "uprn": hc["uprn"].to_numpy()}))

    # --- fuel poverty assessments (a referred, non-random subset of households)
    fa = raw.get("fp_assessments", pd.DataFrame(columns=["assessment_ref", "household_id", "uprn", "assessment_date",
                                                         "fuel_poor", "epc_band", "equivalised_residual_income",
                                                         "referral"]))
    address, postcode = messy.free_text_addresses(rs("fuel_poverty/address"), by_uprn.loc[fa["uprn"]].reset_index(),
                                                "casework")
    resident = lead.loc[fa["household_id"]].reset_index()
    assessments = pd.concat([pd.DataFrame({
        "assessment_ref": _ref("FPA", fa["assessment_ref"]), "assessment_date": _iso(fa["assessment_date"]),
        "address": address, "postcode": postcode,
        "uprn": _some_uprns(rs("fuel_poverty/uprn"), fa, 0.4),
        "fuel_poor": np.where(fa["fuel_poor"].astype(bool), "Y", "N"), "epc_band": fa["epc_band"].to_numpy(),
        "equivalised_income_band": pd.cut(fa["equivalised_residual_income"].astype(float),
                                          [-np.inf, 0, 8_000, 16_000, 30_000, np.inf],
                                          labels=["negative", "under_8k", "8k_16k", "16k_30k", "over_30k"])
        .astype(str).to_numpy(),
        "referral_source": fa["referral"].to_numpy(),
    }), _people_fields(rs, "fuel_poverty/resident", resident, 0.2, ["", "Not known"]).add_prefix("resident_")], axis=1)
    ex["fuel_poverty/assessments"] = assessments
    cross.append(pd.DataFrame({"source": "fuel_poverty", "record_id": assessments["assessment_ref"],
                               "household_id": fa["household_id"].to_numpy(), "uprn": fa["uprn"].to_numpy()}))

    truth["crosswalk"] = pd.concat(cross, ignore_index=True).astype({"household_id": "Int64", "uprn": "int64"})
    return ex, truth


def _sap_band(sap: np.ndarray) -> np.ndarray:
    return np.array(list("ABCDEFG"))[6 - np.searchsorted([21, 39, 55, 69, 81, 92], sap, side="right")]


def _uprn_of(raw: dict) -> pd.Series:
    return raw["households"].set_index("household_id")["uprn"]


def _applicants(people: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The person who applied: another adult for a family exclusion where there is one, else the lead."""
    first_adult = people[people["role"] == "adult"].drop_duplicates("household_id").set_index("household_id")
    lead = people[people["person_seq"] == 0].set_index("household_id")
    rows = [first_adult.loc[h] if role == "adult" and h in first_adult.index else lead.loc[h]
            for h, role in zip(cases["household_id"], cases["applicant_role"], strict=False)]
    return pd.DataFrame(rows, columns=lead.columns).reset_index(drop=True)
