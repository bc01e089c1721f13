"""One partition of properties lived month by month: latent lives, and the records systems keep.

State is a set of arrays with one slot per property (one household lives at a property at a time).
Each month draws from its own random stream (see random_streams), so the simulation is prefix-stable.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from synth import economics as econ
from synth import homelessness
from synth.calendar import month_start, sigmoid
from synth.homelessness import ABUSE, BREAKDOWN, FAMILY
from synth.households import (
    COUPLE,
    COUPLE_CHILDREN,
    LONE_PARENT,
    MULTI_ADULT,
    SINGLE,
    draw_households,
    draw_people,
)
from synth.ledgers import AccountsMixin
from synth.random_streams import ARRIVALS, MONTH, stream
from synth.scenarios import Scenario

BURN_IN = 12  # latent months lived before the extracts begin, so balances and histories are realistic
HORIZON = 6  # homelessness outcome window, months
ID_BLOCK = 10_000_000  # per-partition block of identifiers, so ids never collide across partitions

_LEAVE_AFTER = {"prevention": 0.35, "relief": 0.75}

# Per-slot state and its type; a new household starts from _FRESH_STATE plus its drawn attributes.
_STATE_TYPES = {
    "hid": np.int64, "void": int, "composition": int, "age": float, "sex": object, "ethnicity": object,
    "adults": int, "children": int, "disabled": bool, "employed": bool, "earnings": float,
    "second_earnings": float, "pension": float, "mortgage": float, "money_trait": float,
    "digitally_excluded": bool, "would_claim": bool, "shock": float, "shock_left": int,
    "uc": bool, "hb": bool, "ctr": bool,
    "uc_wait": int, "apa": bool, "stress": float, "rent_balance": float, "private_arrears": float,
    "ct_balance": float, "ct_year_due": float, "ct_year_paid": float, "ct_stage": int, "ct_stage_month": int,
    "ct_missed": int, "notice_left": int, "notice_end": bool, "abuse_left": int, "family_left": int,
    "breakdown_ago": int, "spd": bool, "fp_assessed": int, "pay_freq": int, "tenancy": np.int64,
    "ct_account": np.int64, "hb_claim": np.int64, "ctr_claim": np.int64, "move_in_month": int,
}
_FRESH_STATE = {
    "shock": 1.0, "shock_left": 0, "uc": False, "hb": False, "ctr": False, "uc_wait": 0, "apa": False,
    "rent_balance": 0.0, "private_arrears": 0.0, "ct_balance": 0.0, "ct_year_due": 0.0, "ct_year_paid": 0.0,
    "ct_stage": 0, "ct_stage_month": -99, "ct_missed": 0, "notice_left": 0, "notice_end": False,
    "abuse_left": 0, "family_left": 0, "breakdown_ago": 99, "fp_assessed": -99, "tenancy": -1,
    "ct_account": -1, "hb_claim": -1, "ctr_claim": -1,
}


class PartitionSimulation(AccountsMixin):
    def __init__(self, seed: int, partition: int, props: pd.DataFrame, months: int, scenario: Scenario):
        self.seed, self.partition, self.months, self.scenario = seed, partition, months, scenario
        self.p = {c: props[c].to_numpy() for c in props.columns}
        self.n = len(props)
        self.social = np.isin(self.p["tenure"], ["council", "housing_association"])
        self.private = self.p["tenure"] == "private"
        self.renting = self.social | self.private
        # The council's rent system holds its own stock and a partner housing association's.
        self.in_rent_system = (self.p["tenure"] == "council") | (
            (self.p["tenure"] == "housing_association") & (self.p["property_index"] % 5 < 2))
        self.s = {key: np.zeros(self.n, dtype) for key, dtype in _STATE_TYPES.items()}
        self.s["hid"][:] = -1
        self.counters = defaultdict(int)
        self.rec = defaultdict(list)

    # ---------------------------------------------------------------- helpers
    def _new_id(self, kind: str, count: int) -> np.ndarray:
        start = self.counters[kind]
        self.counters[kind] += count
        return (self.partition + 1) * ID_BLOCK + start + np.arange(count)

    def _day(self, rng, m: int, count: int) -> np.ndarray:
        days = month_start(m + 1) - month_start(m)
        return np.datetime64(month_start(m), "D") + rng.integers(0, days.days, count)

    def _emit(self, table: str, **cols):
        lengths = {len(np.atleast_1d(v)) for v in cols.values()}
        if max(lengths) > 0:
            self.rec[table].append(pd.DataFrame(cols))

    # ---------------------------------------------------------------- the month
    def run(self) -> dict:
        for m in range(-BURN_IN, self.months):
            self.step(m)
        return {k: pd.concat(v, ignore_index=True) for k, v in self.rec.items()}

    def step(self, m: int):
        rng = stream(self.seed, MONTH, self.partition, m)
        self._arrivals(m)
        occ = self.s["hid"] >= 0
        self._economy(rng, m, occ)
        self._episodes(rng, m, occ)
        self._rent(rng, m, occ)
        self._council_tax(rng, m, occ)
        event, duty = self._homelessness(rng, m, occ)
        self._fuel_poverty(rng, m, occ)
        self._departures(rng, m, occ, event, duty)

    # ---------------------------------------------------------------- arrivals
    def _arrivals(self, m: int):
        s = self.s
        s["void"] = np.where(s["hid"] < 0, s["void"] - 1, s["void"])
        idx = np.flatnonzero((s["hid"] < 0) & (s["void"] <= 0))
        if len(idx) == 0:
            return
        rng = stream(self.seed, ARRIVALS, self.partition, m)
        hh = draw_households(rng, self.p["tenure"][idx], self.p["deprivation"][idx])
        hid = self._new_id("household", len(idx))
        first = m == -BURN_IN
        if first:  # the starting population has lived here for years already
            years = np.select([self.p["tenure"][idx] == "owner", self.private[idx]], [12.0, 2.5], 9.0)
            back = (rng.exponential(years) * 365.25).astype(int)
            move_in = np.datetime64(month_start(m), "D") - back
        else:
            move_in = self._day(rng, m, len(idx))
        for key, value in {**_FRESH_STATE, **hh}.items():
            s[key][idx] = value
        s["hid"][idx] = hid
        s["move_in_month"][idx] = m
        s["stress"][idx] = hh["money_trait"] + rng.normal(0, 0.3, len(idx))
        s["pay_freq"][idx] = rng.choice([1, 2, 4], len(idx), p=[.4, .2, .4])
        s["spd"][idx] = (hh["adults"] == 1) & (rng.random(len(idx)) < 0.55)

        uprn = self.p["uprn"][idx]
        self._emit("households", household_id=hid, property_index=self.p["property_index"][idx], uprn=uprn,
                   move_in=move_in, arrival_month=m, **{k: hh[k] for k in
                   ("composition", "age", "sex", "ethnicity", "adults", "children", "disabled", "digitally_excluded")})
        self._emit("people", **draw_people(rng, hid, hh, month_start(m)))
        acc = self._new_id("ct_account", len(idx))
        s["ct_account"][idx] = acc
        self._emit("ct_accounts", account_ref=acc, household_id=hid, uprn=uprn, start_date=move_in)
        ten_idx = idx[self.in_rent_system[idx]]
        if len(ten_idx):
            ten = self._new_id("tenancy", len(ten_idx))
            s["tenancy"][ten_idx] = ten
            self._emit("tenancies", tenancy_ref=ten, household_id=s["hid"][ten_idx], uprn=self.p["uprn"][ten_idx],
                       landlord=np.where(self.p["tenure"][ten_idx] == "council", "council", "partner_ha"),
                       start_date=move_in[self.in_rent_system[idx]], weekly_rent=self.p["weekly_rent"][ten_idx])
        self._epc(rng, m, idx, first)

    def _epc(self, rng, m, idx, first):
        """EPCs are lodged when a home is sold or let; most homes have one from before the extracts."""
        if first:
            has = rng.random(len(idx)) < 0.78
            lodged = np.datetime64(month_start(m), "D") - rng.integers(30, 3_650, len(idx))
        else:
            has = rng.random(len(idx)) < np.where(self.renting[idx], 0.45, 0.7)
            lodged = self._day(rng, m, len(idx))
        sel = idx[has]
        self._emit("epc", lmk_key=self._new_id("epc", len(sel)), property_index=self.p["property_index"][sel],
                   uprn=self.p["uprn"][sel], lodgement_date=lodged[has],
                   sap=np.clip(self.p["sap"][sel] + rng.integers(-3, 4, len(sel)), 1, 100))

    # ---------------------------------------------------------------- economy and benefits
    def _economy(self, rng, m, occ):
        s, n = self.s, self.n
        pensioner = s["age"] >= 66
        s["age"] = s["age"] + 1 / 12
        working_age = occ & ~pensioner
        job_loss = working_age & s["employed"] & (rng.random(n) < 0.006 * np.exp(0.25 * self.p["deprivation"]))
        job_gain = working_age & ~s["employed"] & ~s["disabled"] & (rng.random(n) < 0.06)
        s["employed"] = (s["employed"] & ~job_loss) | job_gain
        s["second_earnings"] = np.where(occ & (rng.random(n) < 0.004), 0.0, s["second_earnings"])
        shock = working_age & s["employed"] & (s["shock_left"] <= 0) & (rng.random(n) < 0.012)
        s["shock"] = np.where(shock, rng.uniform(0.4, 0.8, n), np.where(s["shock_left"] <= 0, 1.0, s["shock"]))
        s["shock_left"] = np.where(shock, rng.integers(2, 7, n), s["shock_left"] - 1)

        rent_idx = self.scenario.rent_index(m, True) * self.social + self.scenario.rent_index(m, False) * self.private
        weekly_rent = self.p["weekly_rent"] * np.where(self.social, rent_idx, 1)
        private_rent = self.p["monthly_private_rent"] * np.where(self.private, rent_idx, 1)
        housing = econ.housing_cost(s, weekly_rent, private_rent)
        earn = econ.net_earnings(s)
        uc_entitled, housing_element = econ.universal_credit(s, earn, housing, self.renting)
        pension = s["pension"] / 12
        pc, hb_pens = econ.pensioner_support(s, pension, housing, self.renting)

        # Claims: eligibility, take-up (lower for the digitally excluded), and ending when ineligible.
        eligible_uc = working_age & (uc_entitled > 250)
        takeup = np.where(s["would_claim"], np.where(s["digitally_excluded"], 0.1, 0.3), 0.0)
        start_uc = eligible_uc & ~s["uc"] & ~s["hb"] & (rng.random(n) < takeup)
        end_uc = s["uc"] & ~eligible_uc & (rng.random(n) < 0.5)
        natural_migration = s["hb"] & working_age & (job_loss | (s["breakdown_ago"] == 0))
        managed = s["hb"] & working_age & (rng.random(n) < self.scenario.migrating(m))
        to_uc = natural_migration | managed
        if m == -BURN_IN:  # some of the starting working-age claimants are still on legacy Housing Benefit
            legacy = eligible_uc & self.renting & (rng.random(n) < 0.45)
            s["hb"] = s["hb"] | legacy
            s["uc"] = s["uc"] | (eligible_uc & ~legacy & (rng.random(n) < 0.8))
            start_uc = np.zeros(n, bool)
        s["uc"] = (s["uc"] & ~end_uc) | start_uc | to_uc
        s["uc_wait"] = np.where(start_uc | to_uc, econ.UC_WAIT_MONTHS, np.maximum(s["uc_wait"] - 1, 0))
        s["apa"] = np.where(start_uc | to_uc, self.social & (rng.random(n) < 0.3), s["apa"])

        eligible_hb = occ & self.renting & ((pensioner & (hb_pens > 0)) | (s["hb"] & working_age & eligible_uc))
        start_hb = occ & pensioner & self.renting & (hb_pens > 0) & ~s["hb"] & (rng.random(n) < takeup)
        end_hb = s["hb"] & (to_uc | (~eligible_hb & (rng.random(n) < 0.5)))
        s["hb"] = (s["hb"] & ~end_hb) | start_hb
        hb_weekly = np.where(s["hb"], np.where(pensioner, hb_pens, housing_element) * 12 / 52, 0.0)

        # London schemes are tight for working-age households: little or no earnings, on UC or legacy HB.
        eligible_ctr = occ & ((working_age & (s["uc"] | s["hb"]) & (earn < 700))
                              | (pensioner & ((pc > 0) | (hb_pens > 0))))
        start_ctr = eligible_ctr & ~s["ctr"] & (rng.random(n) < np.where(s["uc"] | s["hb"], 0.2, takeup))
        end_ctr = s["ctr"] & ~eligible_ctr & (rng.random(n) < 0.5)
        s["ctr"] = (s["ctr"] & ~end_ctr) | start_ctr
        self._benefit_records(rng, m, start_hb | (s["hb"] & (s["hb_claim"] < 0)), end_hb, to_uc,
                              start_ctr | (s["ctr"] & (s["ctr_claim"] < 0)), end_ctr, start_uc | to_uc, hb_weekly,
                              job_loss)

        benefit = np.where(s["uc"] & (s["uc_wait"] == 0), uc_entitled, 0.0) \
            + np.where(s["hb"], hb_weekly * 52 / 12, 0.0) \
            + np.where(s["hb"] & working_age & ~s["employed"], 390.0, 0.0) \
            + np.where(pensioner, pc, 0.0)
        s["income"] = earn + pension + benefit
        s["housing"] = housing
        s["weekly_rent_now"] = weekly_rent
        s["hb_weekly"] = hb_weekly
        s["housing_element"] = housing_element
        charge, spd, reduction = econ.council_tax(self.p["ct_band"], s["adults"], s["ctr"], pensioner)
        s["ct_charge"], s["ct_spd"], s["ct_reduction"] = charge, np.where(s["spd"], spd, 0.0), reduction
        s["ct_net_monthly"] = (charge - s["ct_spd"] - reduction) / 12
        energy = econ.energy_cost(self.p["epc_band"], s["adults"] + s["children"], self.p["bedrooms"],
                                  self.scenario.energy_index(m))
        s["energy"] = energy

        needs = 650.0 * econ.equivalisation(s["adults"], s["children"])
        gap = (s["income"] - housing - s["ct_net_monthly"] - energy - needs) / needs
        target = s["money_trait"] - 0.9 * np.clip(gap, -1.5, 1.5)
        s["stress"] = np.where(occ, 0.75 * s["stress"] + 0.25 * target + rng.normal(0, 0.3, n)
                               + 0.8 * job_loss + 0.5 * (s["uc_wait"] > 0), 0.0)

    def _benefit_records(self, rng, m, start_hb, end_hb, to_uc, start_ctr, end_ctr, uc_start, hb_weekly,
                         job_loss):
        s = self.s
        for kind, start, end in (("HB", start_hb, end_hb), ("CTR", start_ctr, end_ctr)):
            key = "hb_claim" if kind == "HB" else "ctr_claim"
            idx = np.flatnonzero(start & (s[key] < 0))
            if len(idx):
                ref = self._new_id("claim", len(idx))
                s[key][idx] = ref
                self._emit("claims", claim_ref=ref, household_id=s["hid"][idx], uprn=self.p["uprn"][idx],
                           benefit=kind, start_date=self._day(rng, m, len(idx)), pensioner=s["age"][idx] >= 66)
            idx = np.flatnonzero(end & (s[key] >= 0))
            if len(idx):
                self._emit("claim_changes", claim_ref=s[key][idx], change_date=self._day(rng, m, len(idx)),
                           change_type=np.where(to_uc[idx] & (kind == "HB"), "migrated_to_uc", "ended"),
                           weekly_amount=0.0)
                self._emit("claims_end", claim_ref=s[key][idx], end_date=self._day(rng, m, len(idx)))
                s[key][idx] = -1
        idx = np.flatnonzero(uc_start & (s["ctr_claim"] >= 0))
        self._emit("claim_changes", claim_ref=s["ctr_claim"][idx], change_date=self._day(rng, m, len(idx)),
                   change_type="universal_credit_started", weekly_amount=np.nan)
        changed = (s["hb_claim"] >= 0) & (job_loss | (s["breakdown_ago"] == 0) | (s["shock_left"] == 0))
        idx = np.flatnonzero(changed & (rng.random(self.n) < 0.8))
        self._emit("claim_changes", claim_ref=s["hb_claim"][idx], change_date=self._day(rng, m, len(idx)),
                   change_type=np.where(s["breakdown_ago"][idx] == 0, "household_change", "income_change"),
                   weekly_amount=np.round(hb_weekly[idx], 2))

    # ---------------------------------------------------------------- latent episodes
    def _episodes(self, rng, m, occ):
        s, n = self.s, self.n
        couple = np.isin(s["composition"], [COUPLE, COUPLE_CHILDREN])
        s["breakdown_ago"] = np.minimum(s["breakdown_ago"] + 1, 99)
        breakdown = occ & couple & (rng.random(n) < 0.0035 * np.exp(0.3 * s["stress"]))
        s["breakdown_ago"][breakdown] = 0
        s["composition"] = np.where(breakdown, np.where(s["composition"] == COUPLE_CHILDREN, LONE_PARENT, SINGLE),
                                    s["composition"])
        s["adults"] = np.where(breakdown, 1, s["adults"])
        s["second_earnings"] = np.where(breakdown, 0.0, s["second_earnings"])
        abuse_start = occ & (couple | (s["composition"] == LONE_PARENT)) & (s["abuse_left"] <= 0) \
            & (rng.random(n) < 0.003 * np.exp(0.3 * s["stress"]))
        s["abuse_left"] = np.where(abuse_start, rng.geometric(1 / 6, n), np.maximum(s["abuse_left"] - 1, 0))
        family_start = occ & (s["composition"] == MULTI_ADULT) & (s["family_left"] <= 0) \
            & (rng.random(n) < 0.011 * np.exp(0.6 * s["stress"]))
        s["family_left"] = np.where(family_start, rng.integers(2, 5, n), np.maximum(s["family_left"] - 1, 0))
        # Private landlords end tenancies (sale, re-letting, arrears); councils see this only weakly.
        notice = occ & self.private & (s["notice_left"] <= 0) & (rng.random(n) < 0.009 * np.exp(
            0.7 * (s["private_arrears"] >= 2) + 2.0 * self.scenario.rent_index(m, False) - 2.0))
        s["notice_end"] = (s["notice_left"] == 1)
        s["notice_left"] = np.where(notice, rng.integers(2, 4, n), np.maximum(s["notice_left"] - 1, 0))
        s["private_arrears"] = np.where(occ & self.private, np.maximum(
            s["private_arrears"] + np.where(rng.random(n) < sigmoid(2.4 - 1.4 * s["stress"]), -0.5, 1.0), 0), 0)
        # Single person discount follows a household becoming one adult, with a lag; some are reviewed away.
        apply_spd = occ & (s["adults"] == 1) & ~s["spd"] & (rng.random(n) < 0.04)
        review = occ & (s["adults"] > 1) & s["spd"] & (rng.random(n) < 0.1)
        s["spd"] = (s["spd"] | apply_spd) & ~review
        idx = np.flatnonzero(apply_spd | review)
        self._emit("ct_discounts", account_ref=s["ct_account"][idx], change_date=self._day(rng, m, len(idx)),
                   discount="single_person", change=np.where(apply_spd[idx], "awarded", "removed"))

    # ---------------------------------------------------------------- homelessness
    def _homelessness(self, rng, m, occ):
        s, n = self.s, self.n
        comps = homelessness.hazard_components(s, self.p["tenure"]) * occ[:, None]
        hazard = np.clip(comps.sum(axis=1), 0, 0.95)
        event = occ & (rng.random(n) < hazard)
        reason = (comps.cumsum(axis=1) / np.maximum(hazard, 1e-12)[:, None] > rng.random(n)[:, None]).argmax(axis=1)
        prevention = rng.random(n) < homelessness.PREVENTION_SHARE[reason]
        duty = np.where(prevention, "prevention", "relief")
        o = np.flatnonzero(occ)
        weeks = np.where(self.social, s["rent_balance"] / np.maximum(s["weekly_rent_now"], 1), np.nan)
        self._emit("hazard", household_id=s["hid"][o], month=m, hazard=hazard[o], event=event[o],
                   universal_credit=s["uc"][o], housing_benefit=s["hb"][o], council_tax_reduction=s["ctr"][o],
                   rent_arrears_weeks=weeks[o].astype(np.float32), ct_stage=s["ct_stage"][o].astype(np.int8),
                   stress=s["stress"][o].astype(np.float32), in_rent_system=self.in_rent_system[o],
                   single_person_discount=s["spd"][o], adults=s["adults"][o].astype(np.int8))
        e = np.flatnonzero(event)
        if len(e):
            # The applicant: an adult who is asked to leave a family home, else the household's lead person.
            # Who applies: an adult asked to leave a family home, a partner who left, else the household.
            alone = (s["children"][e] == 0) & (s["adults"][e] == 1)
            applicant_single = np.select(
                [reason[e] == FAMILY, reason[e] == BREAKDOWN, reason[e] == ABUSE],
                [rng.random(len(e)) < 0.92, rng.random(len(e)) < 0.7,
                 (s["children"][e] == 0) | (rng.random(len(e)) < 0.2)],
                alone | (rng.random(len(e)) < np.where(prevention[e], 0.18, 0.4)))
            approach = self._day(rng, m, len(e))
            self._emit("hclic", case_ref=self._new_id("case", len(e)), household_id=s["hid"][e],
                       uprn=self.p["uprn"][e], approach_date=approach,
                       decision_date=approach + rng.integers(3, 45, len(e)), duty=duty[e],
                       reason=np.array(homelessness.REASONS)[reason[e]],
                       applicant_role=np.where((reason[e] == FAMILY) & (s["adults"][e] > 1), "adult", "lead"),
                       household_type=np.where(applicant_single, "single",
                                               np.where(s["children"][e] > 0, "family", "couple")),
                       support_need_abuse=reason[e] == ABUSE)
        return event, duty

    # ---------------------------------------------------------------- fuel poverty
    def _fuel_poverty(self, rng, m, occ):
        s, n = self.s, self.n
        fuel_poor, residual = econ.lilee(s["income"], s["housing"], s["ct_net_monthly"], s["energy"],
                                         s["adults"], s["children"], self.p["epc_band"])
        o = np.flatnonzero(occ)
        self._emit("fuel", household_id=s["hid"][o], month=m, fuel_poor=fuel_poor[o],
                   low_income=residual[o] < econ.LILEE_POVERTY_LINE)
        # Assessments come through referrals, so who is assessed is not random (the model card says so).
        on_benefit = s["uc"] | s["hb"] | s["ctr"]
        p = 0.0045 * np.exp(0.9 * on_benefit + 0.5 * s["disabled"] + 0.4 * (s["age"] >= 66)
                            + 0.5 * np.isin(self.p["epc_band"], ["E", "F", "G"]) + 0.3 * (s["ct_stage"] >= 3))
        assessed = occ & (m - s["fp_assessed"] >= 12) & (rng.random(n) < p)
        s["fp_assessed"] = np.where(assessed, m, s["fp_assessed"])
        a = np.flatnonzero(assessed)
        self._emit("fp_assessments", assessment_ref=self._new_id("assessment", len(a)), household_id=s["hid"][a],
                   uprn=self.p["uprn"][a], assessment_date=self._day(rng, m, len(a)), fuel_poor=fuel_poor[a],
                   epc_band=self.p["epc_band"][a], equivalised_residual_income=np.round(residual[a], -2),
                   referral=rng.choice(["self", "gp", "council_tax_team", "housing_officer", "charity"], len(a)))

    # ---------------------------------------------------------------- moves
    def _departures(self, rng, m, occ, event, duty):
        s, n = self.s, self.n
        base = np.select([self.p["tenure"] == "owner", self.private], [0.0045, 0.012], 0.0035) \
            + 0.004 * (s["age"] > 80)
        notice_move = occ & s["notice_end"] & (rng.random(n) < 0.8)
        after_duty = event & (rng.random(n) < np.where(duty == "relief", _LEAVE_AFTER["relief"],
                                                       _LEAVE_AFTER["prevention"]))
        leave = occ & ((rng.random(n) < base) | notice_move | after_duty)
        idx = np.flatnonzero(leave)
        if len(idx) == 0:
            return
        end = np.datetime64(month_start(m + 1), "D") - 1 - rng.integers(0, 20, len(idx))
        self._emit("departures", household_id=s["hid"][idx], month=m, move_out=end,
                   after_duty=after_duty[idx], account_ref=s["ct_account"][idx], tenancy_ref=s["tenancy"][idx],
                   hb_claim=s["hb_claim"][idx], ctr_claim=s["ctr_claim"][idx])
        s["hid"][idx] = -1
        for key in ("ct_account", "tenancy", "hb_claim", "ctr_claim"):
            s[key][idx] = -1
        s["void"][idx] = np.select([self.social[idx], self.private[idx]],
                                   [rng.integers(1, 3, len(idx)), rng.integers(0, 2, len(idx))],
                                   rng.integers(1, 4, len(idx)))
