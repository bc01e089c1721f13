"""Every feature defined once: its source, window, meaning and how to say it in plain English.

The dictionary feeds docs/features.md, the machine-readable features.json beside every matrix, the model
card and the plain-English reasons caseworkers read ("Rent arrears rose by £420 over 13 weeks").
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    group: str  # rent, council_tax, benefits, property, history, missing
    source: str  # the extract(s) it is computed from
    window: str  # what period before the as-of date it looks at
    meaning: str
    reason: str = ""  # plain English with {value} (or {label}, a band's letter; {months}, a duration)
    kind: str = "number"  # number, count, flag, band, category
    absent: str = ""  # plain English for a flag that is off (0)


F = Feature
FEATURES: tuple[Feature, ...] = (
    # --- rent (council and partner housing association tenancies)
    F("rent_balance", "rent", "rent/transactions", "all postings before the as-of date",
      "Rent account balance in GBP (positive = arrears)", "Rent account £{value:,.0f} in arrears"),
    F("rent_arrears_weeks", "rent", "rent/transactions, rent/tenancies", "balance at the as-of date",
      "Arrears as weeks of rent", "Rent arrears of {value:.1f} weeks"),
    F("rent_change_4w", "rent", "rent/transactions", "4 weeks", "Change in rent balance over 4 weeks, GBP",
      "Rent arrears rose by £{value:,.0f} over 4 weeks"),
    F("rent_change_13w", "rent", "rent/transactions", "13 weeks", "Change in rent balance over 13 weeks, GBP",
      "Rent arrears rose by £{value:,.0f} over 13 weeks"),
    F("rent_change_26w", "rent", "rent/transactions", "26 weeks", "Change in rent balance over 26 weeks, GBP",
      "Rent arrears rose by £{value:,.0f} over 26 weeks"),
    F("rent_paid_share_13w", "rent", "rent/transactions", "13 weeks",
      "Payments and benefit credits as a share of rent charged", "Paid {value:.0%} of the rent due over 13 weeks"),
    F("rent_missed_months_3m", "rent", "rent/transactions", "3 calendar months",
      "Months with less than half the rent paid", "{value:.0f} of the last 3 months with under half the rent paid",
      "count"),
    F("rent_partial_months_3m", "rent", "rent/transactions", "3 calendar months",
      "Months with between half and 95% of the rent paid", "{value:.0f} of the last 3 months part-paid", "count"),
    F("rent_payments_13w", "rent", "rent/transactions", "13 weeks",
      "Payments the tenant made (payment regularity; benefit credits excluded)",
      "{value:.0f} rent payments made in the last 13 weeks", "count"),
    F("rent_universal_credit_direct", "rent", "rent/transactions", "6 months",
      "Universal Credit housing costs paid direct to the landlord", "Universal Credit paid direct to the landlord",
      "flag", absent="No Universal Credit paid direct to the landlord"),
    F("rent_housing_benefit_credit", "rent", "rent/transactions", "6 months", "Housing Benefit credited to the rent",
      "Housing Benefit paid towards the rent", "flag", absent="No Housing Benefit towards the rent"),
    F("tenancy_months", "rent", "rent/tenancies", "since tenancy start", "Length of the current tenancy, months",
      "Tenancy began {months} ago"),
    # --- council tax
    F("ct_balance", "council_tax", "council_tax/transactions", "all postings before the as-of date",
      "Council tax balance owed, GBP", "Council tax balance of £{value:,.0f} owed"),
    F("ct_arrears", "council_tax", "council_tax/transactions", "all postings before the as-of date",
      "Council tax overdue: the balance less this year's instalments not yet due (ten, April to January; 0 if none), GBP",
      "Council tax of £{value:,.0f} overdue"),
    F("ct_highest_stage_12m", "council_tax", "council_tax/recovery", "12 months",
      "Highest recovery stage (0 none, 1 reminder ... 5 enforcement agent)", "", "band"),
    F("ct_months_since_action", "council_tax", "council_tax/recovery", "all before the as-of date",
      "Months since the last recovery action", "Last council tax recovery action {months} ago"),
    F("ct_reminders_6m", "council_tax", "council_tax/recovery", "6 months", "Reminders and final notices",
      "{value:.0f} council tax reminders in the last 6 months", "count"),
    F("ct_reminders_12m", "council_tax", "council_tax/recovery", "12 months", "Reminders and final notices",
      "{value:.0f} council tax reminders in the last 12 months", "count"),
    F("ct_summonses_6m", "council_tax", "council_tax/recovery", "6 months", "Summonses",
      "Council tax summons in the last 6 months", "count"),
    F("ct_summonses_12m", "council_tax", "council_tax/recovery", "12 months", "Summonses",
      "{value:.0f} council tax summonses in the last 12 months", "count"),
    F("ct_liability_orders_6m", "council_tax", "council_tax/recovery", "6 months", "Liability orders",
      "Council tax liability order in the last 6 months", "count"),
    F("ct_liability_orders_12m", "council_tax", "council_tax/recovery", "12 months", "Liability orders",
      "{value:.0f} council tax liability orders in the last 12 months", "count"),
    F("ct_enforcement_12m", "council_tax", "council_tax/recovery", "12 months", "Enforcement agent referrals",
      "Council tax debt passed to enforcement agents", "count"),
    F("ct_reduction", "council_tax", "council_tax/transactions", "latest financial year (on 1 April, the one ended)",
      "Council Tax Reduction awarded this year", "Receives Council Tax Reduction", "flag"),
    F("ct_single_person_discount", "council_tax", "council_tax/discounts, council_tax/transactions",
      "latest before the as-of date", "Single person discount in place", "Single person discount on council tax",
      "flag", absent="No single person discount"),
    F("ct_discount_changed_6m", "council_tax", "council_tax/discounts", "6 months",
      "Single person discount awarded or removed (household change)", "Household change: single person discount "
      "changed in the last 6 months", "flag"),
    F("ct_account_months", "council_tax", "council_tax/accounts", "since liability began",
      "Months the household has been liable at this address", "Moved in {months} ago"),
    F("ct_band", "property", "council_tax/accounts", "current", "Council tax band (A=1 ... H=8)",
      "Council tax band {label}", "band"),
    # --- benefits
    F("hb_active", "benefits", "benefits/claims", "at the as-of date", "Housing Benefit claim in payment",
      "Receives Housing Benefit", "flag", absent="No Housing Benefit claim"),
    F("ctr_active", "benefits", "benefits/claims", "at the as-of date", "Council Tax Reduction claim in payment",
      "Receives Council Tax Reduction", "flag", absent="No Council Tax Reduction claim"),
    F("benefit_ended_6m", "benefits", "benefits/changes", "6 months", "A benefit claim ended",
      "A benefit claim ended in the last 6 months", "flag"),
    F("uc_started_6m", "benefits", "benefits/changes", "6 months", "Universal Credit started (reported on CTR)",
      "Moved onto Universal Credit in the last 6 months", "flag"),
    F("migrated_to_uc_12m", "benefits", "benefits/changes", "12 months", "Housing Benefit moved to Universal Credit",
      "Housing Benefit moved to Universal Credit in the last year", "flag"),
    F("income_changes_6m", "benefits", "benefits/changes", "6 months", "Changes of income reported",
      "{value:.0f} income changes reported in the last 6 months", "count"),
    F("household_changes_12m", "benefits", "benefits/changes", "12 months", "Changes of household reported",
      "Household change reported in the last year", "count"),
    F("claim_dependants", "benefits", "benefits/members", "current claims", "Dependent children on claims",
      "{value:.0f} dependent children on benefit claims", "count"),
    # --- property and area
    F("tenure_council", "property", "rent/tenancies", "current", "Council tenant", "Council tenant", "flag",
      absent="Not a council tenant"),
    F("tenure_housing_association", "property", "rent/tenancies", "current", "Partner housing association tenant",
      "Housing association tenant", "flag", absent="Not a housing association tenant"),
    F("tenure_private_rented", "property", "benefits/claims, rent/tenancies", "current",
      "Known private renter (Housing Benefit without a social tenancy)", "Known private renter", "flag",
      absent="Not known to rent privately"),
    F("epc_band", "property", "epc/certificates", "latest before the as-of date",
      "EPC band (A=1 ... G=7)", "Home rated EPC band {label}", "band"),
    F("epc_sap", "property", "epc/certificates", "latest before the as-of date", "SAP energy efficiency score",
      "Energy efficiency score (SAP) of {value:.0f}"),
    F("property_flat", "property", "llpg/gazetteer", "current", "Flat rather than house", "Lives in a flat", "flag",
      absent="Lives in a house"),
    F("ward", "property", "llpg/gazetteer", "current", "Electoral ward", "Lives in {value} ward", "category"),
    # --- history
    F("previous_approaches", "history", "homelessness/cases", "all before the as-of date",
      "Homelessness duties previously owed at this address", "Previously owed a homelessness duty", "count"),
    F("months_since_approach", "history", "homelessness/cases", "all before the as-of date",
      "Months since the last homelessness duty at this address",
      "Owed a homelessness duty at this address {months} ago"),
    F("fp_last_assessed_fuel_poor", "history", "fuel_poverty/assessments", "latest before the as-of date",
      "Last fuel-poverty assessment found the household fuel poor", "Assessed as fuel poor before", "flag",
      absent="Not fuel poor at the last assessment"),
    # --- missing sources are information (a private renter has no rent account)
    F("missing_rent_account", "missing", "rent/tenancies", "current", "No council or partner tenancy here",
      "No council or partner tenancy", "flag", absent="Council or partner tenant"),
    F("missing_epc", "missing", "epc/certificates", "before the as-of date", "No EPC lodged",
      "No EPC on record for the home", "flag", absent="EPC on record for the home"),
    F("missing_benefit_claim", "missing", "benefits/claims", "at the as-of date", "No HB or CTR claim",
      "No Housing Benefit or Council Tax Reduction claim", "flag",
      absent="Has a Housing Benefit or Council Tax Reduction claim"),
    F("missing_ct_action", "missing", "council_tax/recovery", "before the as-of date",
      "Never a council tax recovery action", "Never a council tax recovery action", "flag",
      absent="Has had council tax recovery action"),
    F("missing_approach", "missing", "homelessness/cases", "before the as-of date", "No previous duty here",
      "No homelessness duty here before", "flag", absent="Owed a homelessness duty here before"),
)
BY_NAME = {f.name: f for f in FEATURES}
# How far past the as-of date each label looks: the gap a temporal split must leave (models/splits.py).
LABEL_WINDOW_MONTHS = {"homelessness": 6, "fuel_poverty": 3}
LABELS = {
    "label_homelessness": "Owed a homelessness prevention or relief duty at this address in the 6 months from "
                          "the as-of date (null where the 6 months are not yet observed)",
    "label_fuel_poverty": "Fuel poor (LILEE) at an assessment in the 3 months from the as-of date (null where not "
                          "assessed: unobserved is not negative)",
}


def to_json() -> str:
    return json.dumps({"features": [asdict(f) for f in FEATURES], "labels": LABELS}, indent=2) + "\n"


def markdown() -> str:
    lines = ["# Feature dictionary", "",
             "Generated from `features/dictionary.py` by `upstream docs`; do not edit by hand.",
             "Every feature is computed only from records the council knew (posting or decision date) before",
             "the as-of date. Key columns: `household_key` (pseudonym), `as_of`.", ""]
    for group in dict.fromkeys(f.group for f in FEATURES):
        lines += [f"## {group.replace('_', ' ').title()}", "", "| feature | meaning | window | source | kind |",
                  "|---|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.meaning} | {f.window} | {f.source} | {f.kind} |"
                  for f in FEATURES if f.group == group]
        lines.append("")
    lines += ["## Labels", "", "| label | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in LABELS.items()]
    return "\n".join(lines) + "\n"
