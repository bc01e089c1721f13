"""Point-in-time features as Ibis expressions: one definition, run on DuckDB or Spark.

Every record joins a (household, as-of) row only if its knowledge date (posting, decision or lodgement
date) is before the as-of date, so nothing the council learnt later can leak in. Windows such as "13
weeks" or "6 months" are filters on that knowledge date, counted back from the as-of date.
"""
from __future__ import annotations

import ibis
from ibis import _

from features.dictionary import LABEL_WINDOW_MONTHS

TENANT_PAYMENTS = ["direct_debit", "card", "bank_transfer", "cash"]
CT_PAYMENTS = ["payment", "direct_debit"]
CT_BILLING = ["annual_bill", "single_person_discount", "council_tax_reduction"]  # the year's net charge
CT_INSTALMENTS = 10  # April to January
DAYS_PER_MONTH = 30.44


def days(n: int):
    return ibis.interval(days=n)


def months(n: int):
    return ibis.interval(months=n)


def _latest(table, keys: list[str], order):
    """One row per key: the one with the greatest `order` (ties broken by the full row order)."""
    window = ibis.window(group_by=[table[k] for k in keys], order_by=ibis.desc(order))
    return table.mutate(_rank=ibis.row_number().over(window)).filter(_._rank == 0).drop("_rank")


def months_between(later, earlier):
    return later.delta(earlier, unit="day").cast("float64") / DAYS_PER_MONTH


def _overlapping(occ):
    """Each occupancy, and whether it overlaps another at the same property (both not ended at some date)."""
    other = occ.view()
    pairs = occ.join(other, [occ.uprn == other.uprn, occ.account_ref != other.account_ref,
                             other.occ_end.isnull() | (occ.occ_start < other.occ_end),
                             occ.occ_end.isnull() | (other.occ_start < occ.occ_end)])
    shared = pairs.select(occ.account_ref).distinct().mutate(shared=ibis.literal(True))
    return occ.left_join(shared, "account_ref").drop("account_ref_right")


def spine(t: dict):
    """Households resident at each as-of date: a council tax liability that began before it and had not ended."""
    occ, asof = _overlapping(t["occupancies"]), t["asof"]
    j = occ.join(asof, [occ.occ_start < asof.as_of, occ.occ_end.isnull() | (occ.occ_end >= asof.as_of)])
    j = j.select("household_key", "account_ref", "uprn", "occ_start", "ct_band", "as_of", "fy_start",
                 "homelessness_observed", "fuel_poverty_observed", "shared")
    # Of households resident together, the one that moved in last. Only the rows of occupancies that overlap
    # another at their property can meet; ranking every row instead was a window over millions of rows.
    s = ibis.union(j.filter(j.shared.isnull()),
                   _latest(j.filter(j.shared.notnull()), ["uprn", "as_of"], _.occ_start)).drop("shared")
    # One integer per row, in the matrix's order (as-of date, then household key): every part joins and groups
    # on it instead of the string key. Numbering the few distinct dates and keys and combining the two costs a
    # fraction of numbering millions of rows in one ordered window, and the numbers stay dense (below dates x
    # keys), so the DuckDB build can use them as array positions.
    keys = occ.select("household_key").distinct()
    keys = keys.mutate(key_number=ibis.row_number().over(order_by=keys.household_key))
    dates = asof.select("as_of").mutate(date_number=ibis.row_number().over(order_by=asof.as_of))
    s = s.join(keys, "household_key").join(dates, "as_of")
    row = s.date_number.cast("int64") * keys.count().as_scalar() + s.key_number
    return s.mutate(row=row).drop("key_number", "date_number")


def _month(date):
    return date.cast("timestamp").truncate("M")


def _by_month(events, key: str, measures: list[str]):
    """Each key's events summed per calendar month (`month`, its first day)."""
    return events.group_by([events[key], _month(events.date).name("month")]).aggregate(
        **{m: events[m].cast("float64").sum() for m in measures})


def totals_before(events, cutoffs, key: str, measures: list[str]):
    """For every cutoff row, the sum of each measure over its key's events dated strictly before its `cutoff`.

    Events are first summed per key and calendar month. One ordered running sum over those monthly sums and
    the distinct (key, month start) cutoffs, which sort before the month they open, gives every total at a
    month start: far fewer rows than events plus every cutoff of every as-of date. A cutoff inside a month
    (4, 13 or 26 weeks back) adds the events of its month dated before it, found by a join on key and month.
    """
    ids = [c for c in cutoffs.columns if c not in (key, "cutoff")]
    events = events.mutate(month=_month(events.date))
    cutoffs = cutoffs.mutate(at=cutoffs.cutoff.cast("timestamp"), month=_month(cutoffs.cutoff))
    monthly = _by_month(events, key, measures)
    starts = cutoffs.select(key, "month").distinct()
    stream = ibis.union(monthly.mutate(is_event=ibis.literal(1)),
                        starts.mutate(is_event=ibis.literal(0), **{m: ibis.literal(0.0) for m in measures}))
    window = ibis.cumulative_window(group_by=stream[key], order_by=[stream.month, stream.is_event])
    running = stream.mutate(**{m: stream[m].sum().over(window) for m in measures})
    at_start = running.filter(running.is_event == 0).drop("is_event")
    inside = cutoffs.filter(cutoffs.at != cutoffs.month)
    partial = inside.join(events, [inside[key] == events[key], inside.month == events.month, events.date < inside.at])
    partial = partial.group_by(ids).aggregate(**{m: partial[m].cast("float64").sum() for m in measures})
    t = cutoffs.join(at_start, [key, "month"]).left_join(partial, ids)
    # Pounds and pence, and counts: rounding to 2 places makes totals exact whatever order an engine adds in
    # (DuckDB's windowed sums depend on partition size), so a threshold such as "half the rent" is stable.
    return t.select(*ids, **{m: (t[m] + t[f"{m}_right"].fill_null(0)).round(2) for m in measures})


def _cutoffs(rows, key: str, offsets: dict):
    """One row per (row, named cutoff): `offsets` maps a label to an expression of the as-of date. The label
    is stored as its position in OFFSETS: the pivot back compares it once per total, and integers compare
    several times faster than text."""
    return ibis.union(*[rows.select("row", key, label=ibis.literal(i, "int8"), cutoff=fn(rows.as_of))
                        for i, fn in enumerate(offsets.values())])


def _at(totals, offsets: dict, measure: str, label: str):
    return totals[measure].max(where=totals.label == list(offsets).index(label))


def rent(s, t: dict):
    ten, tx = t["tenancies"], t["rent_tx"]
    active = s.join(ten, [s.uprn == ten.uprn, ten.tenancy_start < s.as_of,
                          ten.tenancy_end.isnull() | (ten.tenancy_end >= s.as_of)])
    active = _latest(active.select("row", "as_of", "tenancy_ref", "tenancy_start", "weekly_rent", "landlord"),
                     ["row"], _.tenancy_start).cache()  # read by every cutoff below: computed once
    kind = tx.transaction_type
    events = tx.select(
        "tenancy_ref", date=tx.posting_date, balance=tx.amount,
        charged=ibis.ifelse(kind == "rent_charge", tx.amount, 0),
        paid=ibis.ifelse((tx.amount < 0) & (kind != "balance_brought_forward"), -tx.amount, 0),
        payments=kind.isin(TENANT_PAYMENTS).cast("int64"),
        uc_direct=(kind == "universal_credit_direct").cast("int64"),
        hb=(kind == "housing_benefit").cast("int64"))
    offsets = {"now": lambda d: d, "4w": lambda d: d - days(28), "13w": lambda d: d - days(91),
               "26w": lambda d: d - days(182), "m1": lambda d: d - months(1), "m2": lambda d: d - months(2),
               "m3": lambda d: d - months(3), "m6": lambda d: d - months(6)}
    totals = totals_before(events, _cutoffs(active, "tenancy_ref", offsets), "tenancy_ref",
                           ["balance", "charged", "paid", "payments", "uc_direct", "hb"])
    used = {"balance": ["now", "4w", "13w", "26w"], "charged": ["now", "13w", "m1", "m2", "m3"],
            "paid": ["now", "13w", "m1", "m2", "m3"], "payments": ["now", "13w"], "uc_direct": ["now", "m6"],
            "hb": ["now", "m6"]}  # pivot only what the features below read: half the aggregates of all 48
    a = totals.group_by("row").aggregate(
        **{f"{m}_{label}": _at(totals, offsets, m, label) for m, labels in used.items() for label in labels})
    a = a.join(active, "row")
    months_back = ["now", "m1", "m2", "m3"]
    share = {k: (a[f"paid_{months_back[k - 1]}"] - a[f"paid_{months_back[k]}"])
             / (a[f"charged_{months_back[k - 1]}"] - a[f"charged_{months_back[k]}"]).nullif(0) for k in (1, 2, 3)}
    return a.select(
        "row",
        rent_balance=a.balance_now,
        rent_arrears_weeks=ibis.greatest(a.balance_now, 0) / a.weekly_rent.nullif(0),
        rent_change_4w=a.balance_now - a.balance_4w,
        rent_change_13w=a.balance_now - a.balance_13w,
        rent_change_26w=a.balance_now - a.balance_26w,
        rent_paid_share_13w=(a.paid_now - a.paid_13w) / (a.charged_now - a.charged_13w).nullif(0),
        rent_missed_months_3m=sum(((share[k] < 0.5).fill_null(False)).cast("int64") for k in (1, 2, 3)),
        rent_partial_months_3m=sum((((share[k] >= 0.5) & (share[k] < 0.95)).fill_null(False)).cast("int64")
                                   for k in (1, 2, 3)),
        rent_payments_13w=(a.payments_now - a.payments_13w).cast("int64"),
        rent_universal_credit_direct=(a.uc_direct_now > a.uc_direct_m6).cast("int64"),
        rent_housing_benefit_credit=(a.hb_now > a.hb_m6).cast("int64"),
        tenancy_months=months_between(a.as_of, a.tenancy_start),
        tenure_council=(a.landlord == "council").cast("int64"),
        tenure_housing_association=(a.landlord == "partner_ha").cast("int64"),
    )


def financial_year(month):
    """The first day of the financial year (April to March) a month falls in."""
    return (month - months(3)).truncate("Y") + months(3)


def months_into_year(as_of, fy_start):
    return (as_of.year() - fy_start.year()) * 12 + as_of.month() - fy_start.month()


def _carried(years, rows):
    """The balance each account carried into every financial year its ROWS fall in: the totals of its earlier
    years, one running sum over a few rows per account (a year without events still gets its row)."""
    totals = years.select("account_ref", "fy", balance=years.balance_12, is_event=ibis.literal(1))
    starts = rows.select("account_ref", "fy").distinct().mutate(balance=ibis.literal(0.0), is_event=ibis.literal(0))
    stream = ibis.union(totals, starts)
    earlier = ibis.cumulative_window(group_by=stream.account_ref, order_by=[stream.fy, stream.is_event])
    carried = stream.mutate(carried=stream.balance.sum().over(earlier))
    return carried.filter(carried.is_event == 0).select("account_ref", "fy", "carried")


def council_tax(s, t: dict):
    tx, rec, disc = t["ct_tx"], t["ct_recovery"], t["ct_discounts"]
    month, kind, amount = _month(tx.posting_date), tx.transaction_type, tx.amount.cast("float64")
    events = tx.select("account_ref", fy=financial_year(month), nth=(month.month() + 8) % 12,  # April 0, March 11
                       kind=kind, balance=amount, billed=ibis.ifelse(kind.isin(CT_BILLING), amount, 0.0))
    # One row per account and financial year. As-of dates are month starts, so a row's year to date is the
    # year's first k months (k = 1..12; 12 on 1 April, the year just ended): a sum for each k, and the month
    # of the year's first reduction and discount. No running sum over millions of rows: only year totals are
    # carried forward.
    years = events.group_by(["account_ref", "fy"]).aggregate(
        first_reduction=events.nth.min(where=kind == "council_tax_reduction"),
        first_spd=events.nth.min(where=kind == "single_person_discount"),
        **{f"{m}_{k}": ibis.ifelse(events.nth < k, events[m], 0.0).sum()
           for m in ("balance", "billed") for k in range(1, 13)})
    rows = s.select("row", "account_ref", fy=s.fy_start.cast("timestamp"), k=months_into_year(s.as_of, s.fy_start))
    y = rows.left_join(years, ["account_ref", "fy"]).join(_carried(years, rows), ["account_ref", "fy"])

    def to_date(measure):
        return ibis.cases(*[(y.k == k, y[f"{measure}_{k}"]) for k in range(1, 13)]).fill_null(0)

    money = y.select("row", ct_balance=(y.carried + to_date("balance")).round(2),  # rounded: see totals_before
                     ct_reduction=(y.first_reduction < y.k).fill_null(False),
                     spd_billed=(y.first_spd < y.k).fill_null(False), ct_year_billed=to_date("billed").round(2))
    r = s.join(rec, [s.account_ref == rec.account_ref, rec.posting_date < s.as_of])

    def count(levels, window):
        return r.level.isin(levels).sum(where=r.posting_date >= r.as_of - window).cast("int64")

    actions = r.group_by(["row", "as_of"]).aggregate(
        ct_highest_stage_12m=r.level.max(where=r.posting_date >= r.as_of - months(12)),
        last_action=r.posting_date.max(),
        ct_reminders_6m=count([1, 2], months(6)), ct_reminders_12m=count([1, 2], months(12)),
        ct_summonses_6m=count([3], months(6)), ct_summonses_12m=count([3], months(12)),
        ct_liability_orders_6m=count([4], months(6)), ct_liability_orders_12m=count([4], months(12)),
        ct_enforcement_12m=count([5], months(12)),
    )
    actions = actions.mutate(ct_months_since_action=months_between(actions.as_of, actions.last_action)).drop(
        "as_of", "last_action")
    d = s.join(disc, [s.account_ref == disc.account_ref, disc.posting_date < s.as_of])
    d = d.select("row", "as_of", "change", "posting_date")
    latest = _latest(d, ["row"], d.posting_date)
    discounts = latest.select("row", spd_latest=latest.change == "awarded",
                              ct_discount_changed_6m=(latest.posting_date >= latest.as_of - months(6)).cast("int64"))
    return money, actions, discounts


def benefits(s, t: dict):
    cl, ch, dep = t["claims"], t["claim_changes"], t["dependants"]
    active = s.join(cl, [s.uprn == cl.uprn, cl.claim_start < s.as_of,
                         cl.claim_end.isnull() | (cl.claim_end >= s.as_of)])
    active = active.select("row", "as_of", "claim_ref", "benefit")
    active = active.left_join(dep, active.claim_ref == dep.claim_ref)
    current = active.group_by("row").aggregate(
        hb_active=(active.benefit == "HB").any().cast("int64"),
        ctr_active=(active.benefit == "CTR").any().cast("int64"),
        claim_dependants=active.dependants.max().fill_null(0).cast("int64"),
    )
    # Claims of this household (not a previous one at the address): still open when it moved in.
    mine = s.join(cl, [s.uprn == cl.uprn, cl.claim_start < s.as_of,
                       cl.claim_end.isnull() | (cl.claim_end >= s.occ_start)])
    mine = mine.select("row", "as_of", "claim_ref")
    c = mine.join(ch, [mine.claim_ref == ch.claim_ref, ch.posting_date < mine.as_of,
                       ch.posting_date >= mine.as_of - months(12)])

    def n(types, window):
        return c.change_type.isin(types).sum(where=c.posting_date >= c.as_of - window).cast("int64")

    changes = c.group_by("row").aggregate(
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
    e = _latest(e.select("row", "lodgement_date", "epc_band", "epc_sap"),
                ["row"], _.lodgement_date).drop("lodgement_date")
    g = s.join(gaz, s.uprn == gaz.uprn).select("row", "ward",
                                                property_flat=(gaz.property_type != "house").cast("int64"))
    h = s.join(cases, [s.uprn == cases.uprn, cases.decision_date < s.as_of,
                       cases.approach_date >= s.occ_start - days(30)])
    history = h.group_by(["row", "as_of"]).aggregate(
        previous_approaches=h.count(), last_approach=h.approach_date.max())
    history = history.mutate(months_since_approach=months_between(history.as_of, history.last_approach)).drop(
        "as_of", "last_approach")
    a = s.join(fp, [s.uprn == fp.uprn, fp.assessment_date < s.as_of, fp.assessment_date >= s.occ_start])
    a = _latest(a.select("row", "assessment_date", "fuel_poor"), ["row"],
                _.assessment_date)
    assessed = a.select("row", fp_last_assessed_fuel_poor=a.fuel_poor.cast("int64"))
    return e, g, history, assessed


def labels(s, t: dict):
    """Outcomes after the as-of date (labels only, never features); null where not yet observable."""
    cases, fp = t["cases"], t["assessments"]
    h = s.join(cases, [s.uprn == cases.uprn, cases.approach_date >= s.as_of,
                       cases.approach_date < s.as_of + months(LABEL_WINDOW_MONTHS["homelessness"])])
    homeless = h.group_by("row").aggregate(duty=h.count())
    a = s.join(fp, [s.uprn == fp.uprn, fp.assessment_date >= s.as_of,
                    fp.assessment_date < s.as_of + months(LABEL_WINDOW_MONTHS["fuel_poverty"])])
    a = a.select("row", "assessment_date", "fuel_poor")
    window = ibis.window(group_by=a.row, order_by=a.assessment_date)
    first = a.mutate(_rank=ibis.row_number().over(window)).filter(_._rank == 0)
    fuel = first.select("row", assessed_fuel_poor=first.fuel_poor.cast("int64"))
    return homeless, fuel
