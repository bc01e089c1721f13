"""Named what-if worlds for robustness checks; each changes prices or policy from a given month."""
from __future__ import annotations

from dataclasses import dataclass

SHOCK_MONTH = 12  # April of the second simulated year
# Typical dual-fuel bill under Ofgem's price cap each quarter from April 2023 (April-June 2023 at the
# Energy Price Guarantee's GBP 2,500), relative to GBP 1,800; after the last published quarter it stays flat.
_QUARTERLY_ENERGY = [2500, 2074, 1834, 1928, 1690, 1568, 1717, 1738, 1849, 1720, 1755, 1758]


def baseline_energy_index(month: int) -> float:
    quarter = min(max(month, 0) // 3, len(_QUARTERLY_ENERGY) - 1)
    return _QUARTERLY_ENERGY[quarter] / 1800


@dataclass(frozen=True)
class Scenario:
    name: str = "baseline"
    energy_price_rise: float = 0.0      # e.g. 0.6 = fuel prices up 60% from SHOCK_MONTH
    managed_migration_rate: float = 0.0  # share of remaining legacy HB claimants moved to UC each month
    private_rent_rise: float = 0.0
    social_rent_rise: float = 0.0

    def energy_index(self, month: int) -> float:
        return baseline_energy_index(month) * (1.0 + (self.energy_price_rise if month >= SHOCK_MONTH else 0.0))

    def rent_index(self, month: int, social: bool) -> float:
        rise = self.social_rent_rise if social else self.private_rent_rise
        return 1.0 + (rise if month >= SHOCK_MONTH else 0.0)

    def migrating(self, month: int) -> float:
        return self.managed_migration_rate if SHOCK_MONTH <= month < SHOCK_MONTH + 6 else 0.0


SCENARIOS = {
    "baseline": Scenario(),
    "energy-shock": Scenario("energy-shock", energy_price_rise=0.6),
    "uc-migration": Scenario("uc-migration", managed_migration_rate=0.15),
    "rent-rise": Scenario("rent-rise", private_rent_rise=0.15, social_rent_rise=0.07),
}
