"""Rent and council tax accounts: weekly charges and payments, annual bills, and the recovery ladder.

A mixin of PartitionSimulation: it reads the month's latent state (stress, benefits, tenancy) and posts
what the council's rent and council tax systems record, with realistic posting lags.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth.calendar import START, month_start, sigmoid

CT_STAGES = ["reminder", "final_notice", "summons", "liability_order", "enforcement_agent"]


class AccountsMixin:
    # ---------------------------------------------------------------- rent accounts
    def _rent(self, rng, m, occ):
        s = self.s
        idx = np.flatnonzero(occ & (s["tenancy"] >= 0))
        if len(idx) == 0:
            return
        rent = s["weekly_rent_now"][idx]
        hb = s["hb_weekly"][idx]
        apa = s["uc"][idx] & s["apa"][idx] & (s["uc_wait"][idx] == 0)
        apa_monthly = np.where(apa, s["housing_element"][idx], 0.0)
        due_weekly = np.maximum(rent - hb - apa_monthly * 12 / 52, 0)
        stress = s["stress"][idx]
        p_full = sigmoid(2.0 - 1.3 * stress - 0.8 * (s["uc_wait"][idx] > 0))
        mondays = pd.date_range(month_start(m), month_start(m + 1) - pd.Timedelta(days=1), freq="W-MON")
        charged = 0.0
        paid = np.zeros(len(idx))
        for monday in mondays:
            week_no = (monday - START).days // 7
            self._txn(m, rng, s["tenancy"][idx], monday, rent, "rent_charge")
            charged = charged + rent
            hb_week = (week_no % 4 == 0) & (hb > 0)
            self._txn(m, rng, s["tenancy"][idx][hb_week], monday, -4 * hb[hb_week], "housing_benefit")
            paid += np.where(hb_week, 4 * hb, 0)
            freq = s["pay_freq"][idx]
            pays_now = (week_no % freq) == 0
            u = rng.random(len(idx))
            frac = np.where(u < p_full, 1.0, np.where(u < p_full + (1 - p_full) * 0.5, 0.5, 0.0))
            catch_up = np.where((s["rent_balance"][idx] > rent) & (stress < 0) & (rng.random(len(idx)) < 0.25),
                                0.5 * rent * freq, 0.0)
            amount = np.where(pays_now, frac * due_weekly * freq + catch_up, 0.0)
            sel = amount > 0
            day = np.datetime64(monday.date()) + rng.integers(0, 7, len(idx))
            self._txn(m, rng, s["tenancy"][idx][sel], day[sel], -np.round(amount[sel], 2),
                      rng.choice(["direct_debit", "card", "bank_transfer", "cash"], sel.sum(), p=[.35, .3, .25, .1]))
            paid += amount
        self._txn(m, rng, s["tenancy"][idx][apa], month_start(m) + pd.Timedelta(days=9), -np.round(apa_monthly[apa], 2),
                  "universal_credit_direct")
        paid += apa_monthly
        opening = m == 0
        if opening:
            self._txn(m, rng, s["tenancy"][idx], month_start(0), np.round(s["rent_balance"][idx], 2),
                      "balance_brought_forward")
        s["rent_balance"][idx] += charged - paid

    def _txn(self, m, rng, ref, date, amount, kind, table="rent_transactions"):
        if m < 0 or len(ref) == 0:
            return
        date = np.broadcast_to(np.asarray(date, dtype="datetime64[D]"), len(ref))
        lag = np.where(rng.random(len(ref)) < 0.015, rng.integers(10, 45, len(ref)), rng.integers(0, 4, len(ref)))
        lag = np.where(np.isin(kind, ["rent_charge", "balance_brought_forward", "annual_bill"]), 0, lag)
        self._emit(table, account_ref=ref, transaction_date=date, posting_date=date + lag,
                   transaction_type=kind, amount=np.asarray(amount, float))

    # ---------------------------------------------------------------- council tax
    def _council_tax(self, rng, m, occ):
        s, n = self.s, self.n
        fy_month = m % 12  # 0 = April
        acc = s["ct_account"]
        new_year = fy_month == 0
        arrived = occ & (s["move_in_month"] == m) & ~new_year
        billed = occ & (new_year | arrived)
        remaining = (12 - fy_month) / 12
        bill = np.where(billed, s["ct_charge"] * np.where(new_year, 1.0, remaining), 0.0)
        credit = np.where(billed, (s["ct_spd"] + s["ct_reduction"]) * np.where(new_year, 1.0, remaining), 0.0)
        if new_year:
            s["ct_year_due"][:] = 0.0
            s["ct_year_paid"][:] = 0.0
            s["ct_stage"][:] = 0
            s["ct_missed"][:] = 0
        s["ct_year_due"] += bill - credit
        s["ct_balance"] += bill - credit
        b = np.flatnonzero(billed)
        day = np.datetime64(month_start(m), "D")
        self._txn(m, rng, acc[b], day, np.round(bill[b], 2), "annual_bill", "ct_transactions")
        c = np.flatnonzero(billed & (s["ct_spd"] > 0))
        self._txn(m, rng, acc[c], day, -np.round(s["ct_spd"][c] * (1 if new_year else remaining), 2),
                  "single_person_discount", "ct_transactions")
        c = np.flatnonzero(billed & (s["ct_reduction"] > 0))
        self._txn(m, rng, acc[c], day, -np.round(s["ct_reduction"][c] * (1 if new_year else remaining), 2),
                  "council_tax_reduction", "ct_transactions")
        if m == 0:
            o = np.flatnonzero(occ)
            self._txn(m, rng, acc[o], day, np.round(s["ct_balance"][o] - bill[o] + credit[o], 2),
                      "balance_brought_forward", "ct_transactions")

        if fy_month >= 10:  # February and March carry no instalment
            return
        instalment = np.maximum(s["ct_year_due"] - s["ct_year_paid"], 0) / (10 - fy_month)
        due = occ & (instalment > 1)
        direct_debit = s["money_trait"] < -0.3
        p_pay = sigmoid(2.75 - 1.7 * s["stress"] + 1.0 * direct_debit)
        pays = due & (rng.random(n) < p_pay)
        extra = np.where(pays & (s["ct_balance"] > s["ct_year_due"] - s["ct_year_paid"] + 1)
                         & (rng.random(n) < 0.3), 0.25 * (s["ct_balance"] - (s["ct_year_due"] - s["ct_year_paid"])), 0)
        # Once a year's whole balance is due (after a final notice), paying means paying it all or arranging.
        catch = pays & (s["ct_stage"] >= 2) & (rng.random(n) < 0.2)
        amount = np.where(catch, np.maximum(s["ct_balance"], 0), np.where(pays, instalment + extra, 0.0))
        s["ct_year_paid"] += np.minimum(amount, np.maximum(s["ct_year_due"] - s["ct_year_paid"], 0))
        s["ct_balance"] -= amount
        p = np.flatnonzero(amount > 0)
        self._txn(m, rng, acc[p], self._day(rng, m, len(p)), -np.round(amount[p], 2),
                  np.where(direct_debit[p], "direct_debit", "payment"), "ct_transactions")

        # Recovery: reminder -> final notice -> summons -> liability order -> enforcement agent.
        missed = due & ~pays
        s["ct_missed"] = np.where(missed, s["ct_missed"] + 1, s["ct_missed"])  # misses this financial year
        stage = s["ct_stage"]
        since = m - s["ct_stage_month"]
        owed = s["ct_balance"] > 20
        nxt = np.select([
            missed & (stage == 0),
            missed & (stage == 1) & (s["ct_missed"] >= 2),
            owed & (stage == 2) & (since >= 1) & ~catch,
            owed & (stage == 3) & (since >= 1) & ~catch & (rng.random(n) < 0.9),
            owed & (stage == 4) & (since >= 1) & ~catch & (rng.random(n) < 0.27),
        ], [1, 2, 3, 4, 5], 0)
        step = occ & (nxt > 0)
        s["ct_stage"] = np.where(step, nxt, stage)
        s["ct_stage_month"] = np.where(step, m, s["ct_stage_month"])
        costs = step & (nxt == 3)
        s["ct_balance"] += np.where(costs, 80.0, 0.0)
        r = np.flatnonzero(step)
        self._emit("ct_recovery", account_ref=acc[r], stage=np.array(CT_STAGES)[nxt[r] - 1],
                   action_date=self._day(rng, m, len(r)), amount_outstanding=np.round(s["ct_balance"][r], 2))
        k = np.flatnonzero(costs)
        self._txn(m, rng, acc[k], self._day(rng, m, len(k)), 80.0, "summons_costs", "ct_transactions")

