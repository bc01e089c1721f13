"""Every extract Upstream reads: its columns, what they mean and what values are allowed.

A council plugs in its own exports by writing them to the same layout: DATA/extracts/<system>/<table>.csv,
or a folder <table>/ of part files (Parquet for the large transaction tables). docs/data-contract.md is
generated from this file (`upstream docs`).
"""
from __future__ import annotations

from features.sources._contract import Column as C
from features.sources._contract import Table

ETHNICITY = ("White", "Asian", "Black", "Mixed", "Other", "", "Not known", "Prefer not to say")
YES_NO_UNKNOWN = ("Y", "N", "", "Not known", "Prefer not to say")
SEX = ("F", "M", "")
UK_DATE = "%d/%m/%Y"


def _person(prefix: str = "", date_format: str = "%Y-%m-%d") -> tuple[C, ...]:
    return (
        C(f"{prefix}first_name", "string", "Given name (personal data: never leaves linkage)"),
        C(f"{prefix}last_name", "string", "Family name (personal data: never leaves linkage)"),
        C(f"{prefix}date_of_birth", "date", "Date of birth, for age bands", date_format=date_format),
        C(f"{prefix}sex", "category", "Sex as recorded", allowed=SEX),
        C(f"{prefix}ethnicity", "category", "Ethnic group (ONS 5 groups), equality monitoring", allowed=ETHNICITY),
        C(f"{prefix}disability", "category", "Disabled (Equality Act), equality monitoring", allowed=YES_NO_UNKNOWN),
    )


def _uprn(meaning="Unique Property Reference Number, where the system holds one"):
    return C("uprn", "integer", meaning, minimum=1, maximum=999_999_999_999)


TABLES: tuple[Table, ...] = (
    Table("llpg", "gazetteer", "The council's Local Land and Property Gazetteer: one row per addressable property",
          key="uprn", columns=(
              C("uprn", "integer", "Unique Property Reference Number", required=True, minimum=1),
              C("sao_text", "string", "Secondary addressable object, e.g. FLAT 2"),
              C("building_name", "string", "Building name, e.g. CEDAR HOUSE"),
              C("pao_number", "integer", "Primary addressable object number (house number)", minimum=0),
              C("street", "string", "Street name", required=True),
              C("town", "string", "Town"),
              C("postcode", "string", "Postcode", required=True),
              C("ward", "string", "Electoral ward", required=True),
              C("lsoa", "string", "Lower layer super output area (small area) code", required=True),
              C("property_type", "category", "Built form",
                allowed=("house", "converted_flat", "flat_block")),
              C("address", "string", "Canonical single-line address", required=True),
          )),
    Table("rent", "tenancies", "Housing rent system: council and partner housing association tenancies",
          key="tenancy_ref", knowledge_date="tenancy_start", columns=(
              C("tenancy_ref", "string", "Tenancy reference", required=True),
              C("property_ref", "string", "Housing system's own property reference", required=True),
              C("address", "string", "Property address as the housing system holds it", required=True),
              C("postcode", "string", "Postcode"),
              _uprn(),
              C("landlord", "category", "Landlord of the home", required=True, allowed=("council", "partner_ha")),
              C("tenancy_start", "date", "Tenancy start date", required=True),
              C("tenancy_end", "date", "Tenancy end date (blank while current)"),
              C("weekly_rent", "number", "Weekly rent at the start of the tenancy, GBP", required=True, minimum=0),
          )),
    Table("rent", "tenants", "Housing rent system: lead and joint tenants", key="person_ref",
          references={"tenancy_ref": "rent/tenancies"}, columns=(
              C("person_ref", "string", "Person reference", required=True),
              C("tenancy_ref", "string", "Tenancy reference", required=True),
              C("role", "category", "Lead or joint tenant", required=True, allowed=("lead", "joint")),
              *_person(),
          )),
    Table("rent", "transactions", "Housing rent system: weekly charges, payments and benefit credits",
          key="transaction_id", file_format="parquet", knowledge_date="posting_date",
          references={"tenancy_ref": "rent/tenancies"}, columns=(
              C("transaction_id", "string", "Transaction id", required=True),
              C("tenancy_ref", "string", "Tenancy reference", required=True),
              C("transaction_date", "date", "Date the transaction refers to", required=True),
              C("posting_date", "date", "Date it was posted to the account (what the council knew when)",
                required=True),
              C("transaction_type", "category", "Kind of transaction", required=True, allowed=(
                  "rent_charge", "housing_benefit", "universal_credit_direct", "direct_debit", "card",
                  "bank_transfer", "cash", "balance_brought_forward")),
              C("amount", "number", "GBP; charges positive, payments and credits negative", required=True),
          )),
    Table("council_tax", "accounts", "Council tax system: one account per liable household at a property",
          key="account_ref", knowledge_date="account_start", columns=(
              C("account_ref", "string", "Account reference", required=True),
              C("property_ref", "string", "Council tax system's own property reference", required=True),
              _uprn("UPRN, missing for some accounts"),
              C("address", "string", "Address as held on the account (free text)", required=True),
              C("postcode", "string", "Postcode as entered"),
              C("liable_name", "string", "Liable person (personal data: never leaves linkage)"),
              C("account_start", "date", "Liability start date", required=True),
              C("account_end", "date", "Liability end date (blank while current)"),
              C("band", "category", "Valuation band", required=True, allowed=tuple("ABCDEFGH")),
          )),
    Table("council_tax", "transactions", "Council tax system: bills, discounts, reductions and payments",
          key="transaction_id", file_format="parquet", knowledge_date="posting_date",
          references={"account_ref": "council_tax/accounts"}, columns=(
              C("transaction_id", "string", "Transaction id", required=True),
              C("account_ref", "string", "Account reference", required=True),
              C("transaction_date", "date", "Date the transaction refers to", required=True),
              C("posting_date", "date", "Date it was posted", required=True),
              C("transaction_type", "category", "Kind of transaction", required=True, allowed=(
                  "annual_bill", "single_person_discount", "council_tax_reduction", "balance_brought_forward",
                  "payment", "direct_debit", "summons_costs")),
              C("amount", "number", "GBP; bills and costs positive, payments and credits negative", required=True),
          )),
    Table("council_tax", "recovery", "Council tax recovery actions", key="action_ref",
          knowledge_date="posting_date", references={"account_ref": "council_tax/accounts"}, columns=(
              C("action_ref", "string", "Action reference", required=True),
              C("account_ref", "string", "Account reference", required=True),
              C("stage", "category", "Recovery stage", required=True, allowed=(
                  "reminder", "final_notice", "summons", "liability_order", "enforcement_agent")),
              C("action_date", "date", "Date of the action", required=True),
              C("posting_date", "date", "Date it was recorded", required=True),
              C("amount_outstanding", "number", "Balance outstanding at the action, GBP"),
          )),
    Table("council_tax", "discounts", "Council tax discount awards and removals", key="discount_ref",
          knowledge_date="posting_date", references={"account_ref": "council_tax/accounts"}, columns=(
              C("discount_ref", "string", "Discount change reference", required=True),
              C("account_ref", "string", "Account reference", required=True),
              C("discount", "category", "Discount", required=True, allowed=("single_person",)),
              C("change", "category", "Awarded or removed", required=True, allowed=("awarded", "removed")),
              C("effective_date", "date", "Date the change takes effect", required=True),
              C("posting_date", "date", "Date it was recorded", required=True),
          )),
    Table("benefits", "claims", "Benefits system: Housing Benefit and Council Tax Reduction claims",
          key="claim_ref", knowledge_date="start_date", columns=(
              C("claim_ref", "string", "Claim reference", required=True),
              C("benefit", "category", "Housing Benefit or Council Tax Reduction", required=True,
                allowed=("HB", "CTR")),
              C("address", "string", "Claimant's address as given (free text)", required=True),
              C("postcode", "string", "Postcode as given"),
              _uprn("UPRN, missing for many claims"),
              C("start_date", "date", "Claim start date", required=True, date_format=UK_DATE),
              C("end_date", "date", "Claim end date (blank while current)", date_format=UK_DATE),
              C("pensioner", "category", "Pension-age claim", required=True, allowed=("Y", "N")),
          )),
    Table("benefits", "members", "Benefits system: people in each claim's household", key="member_ref",
          references={"claim_ref": "benefits/claims"}, columns=(
              C("member_ref", "string", "Member reference", required=True),
              C("claim_ref", "string", "Claim reference", required=True),
              C("role", "category", "Role in the claim", required=True,
                allowed=("claimant", "partner", "dependant", "non_dependant")),
              *_person(),
          )),
    Table("benefits", "changes", "Benefits system: changes of circumstance, awards and endings",
          key="change_ref", knowledge_date="posting_date", references={"claim_ref": "benefits/claims"}, columns=(
              C("change_ref", "string", "Change reference", required=True),
              C("claim_ref", "string", "Claim reference", required=True),
              C("change_type", "category", "Kind of change", required=True, allowed=(
                  "income_change", "household_change", "ended", "migrated_to_uc", "universal_credit_started")),
              C("change_date", "date", "Date of the change", required=True, date_format=UK_DATE),
              C("posting_date", "date", "Date it was processed", required=True, date_format=UK_DATE),
              C("weekly_amount", "number", "Weekly award after the change, GBP", minimum=0),
          )),
    Table("epc", "certificates", "Energy Performance Certificates lodged for properties in the borough",
          key="lmk_key", knowledge_date="lodgement_date", columns=(
              C("lmk_key", "string", "Certificate key", required=True),
              _uprn("UPRN, missing for some certificates"),
              C("address", "string", "Address on the certificate", required=True),
              C("postcode", "string", "Postcode"),
              C("lodgement_date", "date", "Date lodged", required=True),
              C("current_energy_rating", "category", "EPC band", required=True, allowed=tuple("ABCDEFG")),
              C("current_energy_efficiency", "integer", "SAP score", required=True, minimum=1, maximum=100),
              C("property_type", "category", "Built form", allowed=("house", "converted_flat", "flat_block")),
          )),
    Table("homelessness", "cases", "Homelessness case system (H-CLIC): approaches owed a prevention or relief duty",
          key="case_ref", knowledge_date="decision_date", columns=(
              C("case_ref", "string", "Case reference", required=True),
              C("approach_date", "date", "Date the household approached the council", required=True),
              C("decision_date", "date", "Date the duty was decided (what the council knew when)", required=True),
              C("duty_owed", "category", "Duty owed", required=True, allowed=("prevention", "relief")),
              C("reason_for_loss_of_settled_home", "category", "Main reason (H-CLIC)", required=True, allowed=(
                  "End of private rented tenancy", "Family or friends no longer willing or able to accommodate",
                  "Domestic abuse", "Non-violent relationship breakdown with partner", "Rent arrears", "Other")),
              C("household_type", "category", "Applicant household", required=True,
                allowed=("single", "couple", "family")),
              *_person("applicant_"),
              C("last_settled_address", "string", "Last settled address (free text)", required=True),
              C("last_settled_postcode", "string", "Its postcode"),
              C("last_settled_uprn", "integer", "Its UPRN where recorded", minimum=1),
              C("support_need_domestic_abuse", "category", "Support need: domestic abuse", allowed=("Y", "N")),
          )),
    Table("fuel_poverty", "assessments", "Fuel-poverty assessments by the council's energy advice service",
          key="assessment_ref", knowledge_date="assessment_date", columns=(
              C("assessment_ref", "string", "Assessment reference", required=True),
              C("assessment_date", "date", "Date of assessment", required=True),
              C("address", "string", "Address (free text)", required=True),
              C("postcode", "string", "Postcode"),
              _uprn("UPRN where recorded"),
              C("fuel_poor", "category", "Fuel poor under LILEE at assessment", required=True, allowed=("Y", "N")),
              C("epc_band", "category", "Energy efficiency band assessed", allowed=tuple("ABCDEFG")),
              C("equivalised_income_band", "category", "Income after housing and energy costs, equivalised",
                allowed=("negative", "under_8k", "8k_16k", "16k_30k", "over_30k", "")),
              C("referral_source", "category", "Who referred",
                allowed=("self", "gp", "council_tax_team", "housing_officer", "charity")),
              *_person("resident_"),
          )),
)
BY_PATH = {t.path: t for t in TABLES}


def markdown() -> str:
    """The data contract as documentation (docs/data-contract.md)."""
    lines = ["# Data contract", "",
             "Generated from `features/sources/catalogue.py` by `upstream docs`; do not edit by hand.", "",
             "Point Upstream at a folder `DATA/extracts/<system>/<table>.csv` (or a folder `<table>/` of CSV or",
             "Parquet part files). Rows that break a rule go to quarantine with file, row number and reason; a",
             "missing file or column, or a column of the wrong type, stops the load with a message naming both.",
             ""]
    for t in TABLES:
        lines += [f"## `{t.path}` ({t.file_format})", "", t.meaning + ".", "",
                  f"Key: `{t.key}`." + (f" Knowledge date: `{t.knowledge_date}`." if t.knowledge_date else ""), "",
                  "| column | type | meaning | rule |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {c.kind} | {c.meaning} | {c.describe_rule()} |" for c in t.columns]
        lines.append("")
    return "\n".join(lines)
