"""Point-in-time features as Ibis expressions: one definition, run on DuckDB or Spark.

Every record joins a (household, as-of) row only if its knowledge date (posting, decision or lodgement
date) is before the as-of date, so nothing the council learnt later can leak in. Windows such as "13
weeks" or "6 months" are filters on that knowledge date, counted back from the as-of date.
"""
from __future__ import annotations

import ibis
from ibis import _

TENANT_PAYMENTS = ["direct_debit", "card", "bank_transfer", "cash"]
CT_PAYMENTS = ["payment", "direct_debit"]
DAYS_PER_MONTH = 30.44


def days(n: int):
    return ibis.interval(days=n)


def months(n: int):
    return ibis.interval(months=n)


def _latest(table, keys: list[str], order):
    """One row per key: the one with the greatest `order` (ties broken by the full row order)."""
    window = ibis.window(group_by=[table[k] for k in keys], order_by=ibis.desc(order))
    return table.mutate(_rank=ibis.row_number().over(window)).filter(_._rank == 0).drop("_rank")


def _months_between(later, earlier):
    return later.delta(earlier, unit="day").cast("float64") / DAYS_PER_MONTH


def spine(t: dict):
    """Households resident at each as-of date: a council tax liability that began before it and had not ended."""
    occ, asof = t["occupancies"], t["asof"]
    j = occ.join(asof, [occ.occ_start < asof.as_of, occ.occ_end.isnull() | (occ.occ_end >= asof.as_of)])
    j = j.select("household_key", "account_ref", "uprn", "occ_start", "ct_band", "as_of", "fy_start")
    return _latest(j, ["uprn", "as_of"], j.occ_start)


def rent(s, t: dict):
    ten, tx = t["tenancies"], t["rent_tx"]
    active = s.join(ten, [s.uprn == ten.uprn, ten.tenancy_start < s.as_of,
                          ten.tenancy_end.isnull() | (ten.tenancy_end >= s.as_of)])
    active = _latest(active.select("household_key", "as_of", "tenancy_ref", "tenancy_start", "weekly_rent", "landlord"),
                     ["household_key", "as_of"], _.tenancy_start)
    j = active.join(tx, [active.tenancy_ref == tx.tenancy_ref, tx.posting_date < active.as_of])
    paid = (j.amount < 0) & (j.transaction_type != "balance_brought_forward")
    charge = j.transaction_type == "rent_charge"
    aggs = {
        "rent_balance": j.amount.sum(),
        "weekly_rent": j.weekly_rent.max(),
        "tenancy_start": j.tenancy_start.max(),
        "landlord": j.landlord.max(),
        "charged_13w": j.amount.sum(where=charge & (j.posting_date >= j.as_of - days(91))),
        "paid_13w": (-j.amount).sum(where=paid & (j.posting_date >= j.as_of - days(91))),
        "rent_payment_weeks_13w": j.posting_date.truncate("W").nunique(
            where=j.transaction_type.isin(TENANT_PAYMENTS) & (j.posting_date >= j.as_of - days(91))),
        "rent_universal_credit_direct": (j.transaction_type == "universal_credit_direct").any(
            where=j.posting_date >= j.as_of - months(6)),
        "rent_housing_benefit_credit": (j.transaction_type == "housing_benefit").any(
            where=j.posting_date >= j.as_of - months(6)),
    }
    for weeks in (4, 13, 26):
        aggs[f"balance_{weeks}w_ago"] = j.amount.sum(where=j.posting_date < j.as_of - days(7 * weeks))
    for m in (1, 2, 3):  # calendar months before the as-of date
        month = (j.posting_date >= j.as_of - months(m)) & (j.posting_date < j.as_of - months(m - 1))
        aggs[f"charged_m{m}"] = j.amount.sum(where=charge & month)
        aggs[f"paid_m{m}"] = (-j.amount).sum(where=paid & month)
    a = j.group_by(["household_key", "as_of"]).aggregate(**aggs)
    share = {m: a[f"paid_m{m}"].fill_null(0) / a[f"charged_m{m}"] for m in (1, 2, 3)}
    return a.select(
        "household_key", "as_of", "rent_balance",
        rent_arrears_weeks=ibis.greatest(a.rent_balance, 0) / a.weekly_rent,
        rent_change_4w=a.rent_balance - a.balance_4w_ago.fill_null(0),
        rent_change_13w=a.rent_balance - a.balance_13w_ago.fill_null(0),
        rent_change_26w=a.rent_balance - a.balance_26w_ago.fill_null(0),
        rent_paid_share_13w=a.paid_13w.fill_null(0) / a.charged_13w,
        rent_missed_months_3m=sum(((share[m] < 0.5).fill_null(False)).cast("int64") for m in (1, 2, 3)),
        rent_partial_months_3m=sum((((share[m] >= 0.5) & (share[m] < 0.95)).fill_null(False)).cast("int64")
                                   for m in (1, 2, 3)),
        rent_payment_weeks_13w=a.rent_payment_weeks_13w,
        rent_universal_credit_direct=a.rent_universal_credit_direct.fill_null(False).cast("int64"),
        rent_housing_benefit_credit=a.rent_housing_benefit_credit.fill_null(False).cast("int64"),
        tenancy_months=_months_between(a.as_of, a.tenancy_start),
        tenure_council=(a.landlord == "council").cast("int64"),
        tenure_housing_association=(a.landlord == "partner_ha").cast("int64"),
    )


def council_tax(s, t: dict):
    tx, rec, disc = t["ct_tx"], t["ct_recovery"], t["ct_discounts"]
    j = s.join(tx, [s.account_ref == tx.account_ref, tx.posting_date < s.as_of])
    money = j.group_by(["household_key", "as_of"]).aggregate(
        ct_balance=j.amount.sum(),
        ct_reduction=(j.transaction_type == "council_tax_reduction").any(where=j.posting_date >= j.fy_start),
        spd_billed=(j.transaction_type == "single_person_discount").any(where=j.posting_date >= j.fy_start),
    )
    r = s.join(rec, [s.account_ref == rec.account_ref, rec.posting_date < s.as_of])

    def count(levels, window):
        return r.level.isin(levels).sum(where=r.posting_date >= r.as_of - window).cast("int64")

    actions = r.group_by(["household_key", "as_of"]).aggregate(
        ct_highest_stage_12m=r.level.max(where=r.posting_date >= r.as_of - months(12)),
        last_action=r.posting_date.max(),
        ct_reminders_6m=count([1, 2], months(6)), ct_reminders_12m=count([1, 2], months(12)),
        ct_summonses_6m=count([3], months(6)), ct_summonses_12m=count([3], months(12)),
        ct_liability_orders_6m=count([4], months(6)), ct_liability_orders_12m=count([4], months(12)),
        ct_enforcement_12m=count([5], months(12)),
    )
    actions = actions.mutate(ct_months_since_action=_months_between(actions.as_of, actions.last_action)).drop(
        "last_action")
    d = s.join(disc, [s.account_ref == disc.account_ref, disc.posting_date < s.as_of])
    d = d.select("household_key", "as_of", "change", "posting_date")
    latest = _latest(d, ["household_key", "as_of"], d.posting_date)
    discounts = latest.select("household_key", "as_of", spd_latest=latest.change == "awarded",
                              ct_discount_changed_6m=(latest.posting_date >= latest.as_of - months(6)).cast("int64"))
    return money, actions, discounts


def benefits(s, t: dict):
    cl, ch, dep = t["claims"], t["claim_changes"], t["dependants"]
    active = s.join(cl, [s.uprn == cl.uprn, cl.claim_start < s.as_of,
                         cl.claim_end.isnull() | (cl.claim_end >= s.as_of)])
    active = active.select("household_key", "as_of", "claim_ref", "benefit")
    active = active.left_join(dep, active.claim_ref == dep.claim_ref)
    current = active.group_by(["household_key", "as_of"]).aggregate(
        hb_active=(active.benefit == "HB").any().cast("int64"),
        ctr_active=(active.benefit == "CTR").any().cast("int64"),
        claim_dependants=active.dependants.max().fill_null(0).cast("int64"),
    )
    # Claims of this household (not a previous one at the address): still open when it moved in.
    mine = s.join(cl, [s.uprn == cl.uprn, cl.claim_start < s.as_of,
                       cl.claim_end.isnull() | (cl.claim_end >= s.occ_start)])
    mine = mine.select("household_key", "as_of", "claim_ref")
    c = mine.join(ch, [mine.claim_ref == ch.claim_ref, ch.posting_date < mine.as_of,
                       ch.posting_date >= mine.as_of - months(12)])

    def n(types, window):
        return c.change_type.isin(types).sum(where=c.posting_date >= c.as_of - window).cast("int64")

    changes = c.group_by(["household_key", "as_of"]).aggregate(
        benefit_ended_6m=n(["ended", "migrated_to_uc"], months(6)),
        uc_started_6m=n(["universal_credit_started"], months(6)),
        migrated_to_uc_12m=n(["migrated_to_uc"], months(12)),
        income_changes_6m=n(["income_change"], months(6)),
        household_changes_12m=n(["household_change"], months(12)),
    )
    return current, changes


def property_and_history(s, t: dict):
    epc, gaz, cases, fp = t["epc"], t["gazetteer"], t["cases"], t["assessments"]
    e = s.join(epc, [s.uprn == epc.uprn, epc.lodgement_date < s.as_of])
    e = _latest(e.select("household_key", "as_of", "lodgement_date", "epc_band", "epc_sap"),
                ["household_key", "as_of"], _.lodgement_date).drop("lodgement_date")
    g = s.join(gaz, s.uprn == gaz.uprn).select("household_key", "as_of", "ward",
                                                property_flat=(gaz.property_type != "house").cast("int64"))
    h = s.join(cases, [s.uprn == cases.uprn, cases.decision_date < s.as_of,
                       cases.approach_date >= s.occ_start - days(30)])
    history = h.group_by(["household_key", "as_of"]).aggregate(
        previous_approaches=h.count(), last_approach=h.approach_date.max())
    history = history.mutate(months_since_approach=_months_between(history.as_of, history.last_approach)).drop(
        "last_approach")
    a = s.join(fp, [s.uprn == fp.uprn, fp.assessment_date < s.as_of, fp.assessment_date >= s.occ_start])
    a = _latest(a.select("household_key", "as_of", "assessment_date", "fuel_poor"), ["household_key", "as_of"],
                _.assessment_date)
    assessed = a.select("household_key", "as_of", fp_last_assessed_fuel_poor=a.fuel_poor.cast("int64"))
    return e, g, history, assessed


def labels(s, t: dict):
    """Outcomes after the as-of date (labels only, never features); null where not yet observable."""
    cases, fp = t["cases"], t["assessments"]
    h = s.join(cases, [s.uprn == cases.uprn, cases.approach_date >= s.as_of,
                       cases.approach_date < s.as_of + months(6)])
    homeless = h.group_by(["household_key", "as_of"]).aggregate(duty=h.count())
    a = s.join(fp, [s.uprn == fp.uprn, fp.assessment_date >= s.as_of, fp.assessment_date < s.as_of + months(3)])
    a = a.select("household_key", "as_of", "assessment_date", "fuel_poor")
    window = ibis.window(group_by=[a.household_key, a.as_of], order_by=a.assessment_date)
    first = a.mutate(_rank=ibis.row_number().over(window)).filter(_._rank == 0)
    fuel = first.select("household_key", "as_of", assessed_fuel_poor=first.fuel_poor.cast("int64"))
    return homeless, fuel
