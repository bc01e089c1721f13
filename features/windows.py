"""Point-in-time features as Ibis expressions: one definition, run on DuckDB or Spark.

Every record joins a (household, as-of) row only if its knowledge date (posting, decision or lodgement
date) is before the as-of date, so nothing the council learnt later can leak in. Windows such as "13
weeks" or "6 months" are filters on that knowledge date, counted back from the as-of date.
"""
from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from features.dictionary import LABEL_WINDOW_MONTHS

TENANT_PAYMENTS = ["direct_debit", "card", "bank_transfer", "cash"]
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


def _month_number(date):
    """Months since the year 0: consecutive months differ by one, across years too."""
    return date.year() * 12 + date.month()


CALENDAR = pd.date_range("2024-01-01", "2027-12-31")  # every day of a leap year and three more


def _months_later(back: dict) -> pd.Series:
    """For every CALENDAR day, by how many months its month number grows when it is moved BACK later (`back`
    as for ibis.interval): always the same for whole months; for days, the same except near a month's ends."""
    later = CALENDAR + pd.DateOffset(**back)
    return pd.Series(later.year * 12 + later.month - (CALENDAR.year * 12 + CALENDAR.month), index=CALENDAR)


def _monthly_sums(events, key: str, cutoffs: dict, used: dict, later: dict, usual: dict):
    """Each key's events summed per month number (`month`), and for every cutoff whose events move other than
    usually, the sums `{measure}_{label}_{i}` its total adds (i up to the usual move: of events moving fewer
    than i months) or takes away (i beyond it: of events moving i or more) for the month i months back."""
    events = events.mutate(month=_month_number(events.date))
    monthly = events.group_by([key, "month"]).aggregate(**{m: events[m].cast("float64").sum() for m in used})
    # Only the events of a few days of a month move other than usually: only those are read for it
    edge_days = sorted({day for label, moves in later.items() for day in CALENDAR.day[moves != usual[label]]})
    edge = events.filter(events.date.day().isin(edge_days))
    moved = {label: _month_number(edge.date + ibis.interval(**back)) - edge.month for label, back in cutoffs.items()}
    edges = {f"{m}_{label}_{i}": edge[m].cast("float64").sum(where=moved[label] < i if i <= usual[label]
                                                                 else moved[label] >= i)
             for m, labels in used.items() for label in labels for i in _unusual(later[label])}
    if not edges:
        return monthly
    return monthly.left_join(edge.group_by([key, "month"]).aggregate(**edges), [key, "month"]).drop(
        f"{key}_right", "month_right")


def _unusual(moves: pd.Series) -> range:
    """The months back (i) for which a cutoff's total adds or takes the events moving other than usually."""
    return range(int(moves.min()) + 1, int(moves.max()) + 1)


def _month_rows(monthly, asked, reach: int):
    """One row per key number and month (every month with events, and the REACH months before every as-of
    month of ASKED), so that a row so many rows back is the month so many months back."""
    span = asked.group_by("number").aggregate(first=asked.month.min() - reach, last=asked.month.max())
    grid = span.select("number", month=ibis.range(span.first, span.last + 1).unnest())
    g = grid.outer_join(monthly, ["number", "month"])
    sums = [c for c in monthly.columns if c not in ("number", "month")]
    return g.select(number=ibis.coalesce(g.number, g.number_right), month=ibis.coalesce(g.month, g.month_right),
                    **{c: g[c].fill_null(0.0) for c in sums})


def totals_before(events, rows, key: str, cutoffs: dict, used: dict):
    """For every ROWS row (its key and as-of date, a month start), the sum of each measure over its key's
    events dated strictly before each of its cutoffs: column `{measure}_{label}` for every label USED lists
    for the measure, where CUTOFFS maps a label to how far back from the as-of date (as for ibis.interval).

    An event is before the as-of date M less BACK exactly when, moved BACK later, it is before M: when its
    month number plus the months it moves is below M's (M is a month start). Nearly every event moves as
    many months as most days do (t): those count if their month is t + 1 or more months back, a running sum
    over one row per key and month, read t + 1 rows back. The few that move fewer or more (4, 13 or 26 weeks
    from the first or last days of some months) are summed apart, by month, and added to or taken from the
    months they move into or out of the total. No row per cutoff, no pivot back, no join back to the events.
    """
    later = {label: _months_later(back) for label, back in cutoffs.items()}
    usual = {label: int(moves.mode()[0]) for label, moves in later.items()}
    monthly = _monthly_sums(events, key, cutoffs, used, later, usual)
    # An integer for each key asked about: the windows and joins below partition, sort and match on it
    numbers = rows.select(key).distinct()
    numbers = numbers.mutate(number=ibis.row_number().over(order_by=numbers[key]))
    r = rows.join(numbers, key).mutate(month=_month_number(rows.as_of))
    reach = max(int(moves.max()) for moves in later.values()) + 1
    g = _month_rows(monthly.join(numbers, key).drop(key), r.select("number", "month"), reach)
    g = g.mutate(**{f"{m}_through": g[m].sum().over(ibis.cumulative_window(group_by=g.number, order_by=g.month))
                    for m in used})
    window = ibis.window(group_by=g.number, order_by=g.month)

    def back(column, months):
        return g[column].lag(months).over(window).fill_null(0)

    def total(m, label):
        t = usual[label]
        value = back(f"{m}_through", t + 1)
        for i in _unusual(later[label]):
            value = value + back(f"{m}_{label}_{i}", i) if i <= t else value - back(f"{m}_{label}_{i}", i)
        return value

    totals = g.select("number", "month", **{f"{m}_{label}": total(m, label) for m, labels in used.items()
                                            for label in labels})
    a = r.join(totals, ["number", "month"])
    # Pounds and pence, and counts: rounding to 2 places makes totals exact whatever order an engine adds in,
    # so a threshold such as "half the rent" is stable.
    return a.select(*rows.columns, **{name: a[name].round(2) for name in totals.columns[2:]})


def rent(s, t: dict):
    ten, tx = t["tenancies"], t["rent_tx"]
    active = s.join(ten, [s.uprn == ten.uprn, ten.tenancy_start < s.as_of,
                          ten.tenancy_end.isnull() | (ten.tenancy_end >= s.as_of)])
    active = _latest(active.select("row", "as_of", "tenancy_ref", "tenancy_start", "weekly_rent", "landlord"),
                     ["row"], _.tenancy_start).cache()  # read twice below: computed once
    kind = tx.transaction_type
    events = tx.select(
        "tenancy_ref", date=tx.posting_date, balance=tx.amount,
        charged=ibis.ifelse(kind == "rent_charge", tx.amount, 0),
        paid=ibis.ifelse((tx.amount < 0) & (kind != "balance_brought_forward"), -tx.amount, 0),
        payments=kind.isin(TENANT_PAYMENTS).cast("int64"),
        uc_direct=(kind == "universal_credit_direct").cast("int64"),
        hb=(kind == "housing_benefit").cast("int64"))
    cutoffs = {"now": {"days": 0}, "4w": {"days": 28}, "13w": {"days": 91}, "26w": {"days": 182},
               "m1": {"months": 1}, "m2": {"months": 2}, "m3": {"months": 3}, "m6": {"months": 6}}
    used = {"balance": ["now", "4w", "13w", "26w"], "charged": ["now", "13w", "m1", "m2", "m3"],
            "paid": ["now", "13w", "m1", "m2", "m3"], "payments": ["now", "13w"], "uc_direct": ["now", "m6"],
            "hb": ["now", "m6"]}  # only what the features below read
    a = totals_before(events, active, "tenancy_ref", cutoffs, used)
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


def months_into_year(as_of, fy_start):
    return (as_of.year() - fy_start.year()) * 12 + as_of.month() - fy_start.month()


def _year_to_date(events, name: str, **more):
    """Per account and financial year, the sums `{name}_{k}` of EVENTS' balance over the year's first k months
    (and MORE aggregates)."""
    return events.group_by(["account_ref", "fy"]).aggregate(
        **{f"{name}_{k}": ibis.ifelse(events.nth < k, events.balance, 0.0).sum() for k in range(1, 13)}, **more)


def _carried(years, rows):
    """The balance each account carried into every financial year its ROWS fall in: the totals of its earlier
    years, one running sum over a few rows per account (a year without events still gets its row)."""
    totals = years.select("account_ref", "fy", balance=years.balance_12, is_event=ibis.literal(1))
    starts = rows.select("account_ref", "fy").distinct().mutate(balance=ibis.literal(0.0), is_event=ibis.literal(0))
    stream = ibis.union(totals, starts)
    earlier = ibis.cumulative_window(group_by=stream.account_ref, order_by=[stream.fy, stream.is_event])
    carried = stream.mutate(carried=stream.balance.sum().over(earlier))
    return carried.filter(carried.is_event == 0).select("account_ref", "fy", "carried")


def recovery_actions(s, rec):
    """Recovery actions before each row's as-of date: counts and the highest stage of the last 6 or 12 months,
    and the months since the last action of all. As-of dates are month starts, so an action is before one, or
    at most 12 months before, by its month number alone; only the last action's date needs more than 12
    months, found apart, so the actions of earlier years are never joined to every row."""
    rows = s.select("row", "account_ref", "as_of", month=_month_number(s.as_of))
    rec = rec.mutate(month=_month_number(rec.posting_date))
    r = rows.join(rec, [rows.account_ref == rec.account_ref, rec.month < rows.month, rec.month >= rows.month - 12])

    def count(levels, n):
        return r.level.isin(levels).sum(where=r.month_right >= r.month - n).cast("int64")

    counts = r.group_by("row").aggregate(
        ct_highest_stage_12m=r.level.max(),
        ct_reminders_6m=count([1, 2], 6), ct_reminders_12m=count([1, 2], 12),
        ct_summonses_6m=count([3], 6), ct_summonses_12m=count([3], 12),
        ct_liability_orders_6m=count([4], 6), ct_liability_orders_12m=count([4], 12),
        ct_enforcement_12m=count([5], 12),
    )
    # The last action before a month: the last of the latest month with actions before it, that is, of the
    # month with actions whose next month with actions (if any) is not before it
    monthly = rec.group_by(["account_ref", "month"]).aggregate(last_action=rec.posting_date.max())
    monthly = monthly.mutate(next_month=monthly.month.lead().over(group_by=monthly.account_ref,
                                                                  order_by=monthly.month))
    last = rows.join(monthly, [rows.account_ref == monthly.account_ref, monthly.month < rows.month,
                               monthly.next_month.isnull() | (monthly.next_month >= rows.month)])
    last = last.select("row", ct_months_since_action=months_between(last.as_of, last.last_action))
    actions = last.left_join(counts, "row")
    return actions.select("row", *counts.columns[1:], "ct_months_since_action")


def council_tax(s, t: dict):
    tx, rec, disc = t["ct_tx"], t["ct_recovery"], t["ct_discounts"]
    kind, amount = tx.transaction_type, tx.amount.cast("float64")
    since_april = _month_number(tx.posting_date) - 4  # integers: cheaper than date arithmetic per posting
    events = tx.select("account_ref", fy=(since_april // 12).cast("int32"), nth=since_april % 12,  # April 0
                       kind=kind, balance=amount)
    # One row per account and financial year. As-of dates are month starts, so a row's year to date is the
    # year's first k months (k = 1..12; 12 on 1 April, the year just ended): a sum for each k, and the month
    # of the year's first reduction and discount. No running sum over millions of rows: only year totals are
    # carried forward. Bills, discounts and reductions, a sixth of the postings, are summed apart.
    years = _year_to_date(events, "balance")
    billing = events.filter(events.kind.isin(CT_BILLING))
    bills = _year_to_date(billing, "billed",
                          first_reduction=billing.nth.min(where=billing.kind == "council_tax_reduction"),
                          first_spd=billing.nth.min(where=billing.kind == "single_person_discount"))
    rows = s.select("row", "account_ref", fy=s.fy_start.year(), k=months_into_year(s.as_of, s.fy_start))
    asked = _carried(years, rows)  # one row per account and year the rows ask about: joined to the rows once
    for sums in (years, bills):
        asked = asked.left_join(sums, ["account_ref", "fy"]).drop("account_ref_right", "fy_right")
    y = rows.join(asked, ["account_ref", "fy"])

    def to_date(measure):
        return ibis.cases(*[(y.k == k, y[f"{measure}_{k}"]) for k in range(1, 13)]).fill_null(0)

    money = y.select("row", ct_balance=(y.carried + to_date("balance")).round(2),  # rounded: see totals_before
                     ct_reduction=(y.first_reduction < y.k).fill_null(False),
                     spd_billed=(y.first_spd < y.k).fill_null(False), ct_year_billed=to_date("billed").round(2))
    actions = recovery_actions(s, rec)
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
