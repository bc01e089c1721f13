"""Named, independent random streams.

Every draw in the generator comes from a stream keyed by (seed, purpose, partition, month), so a
month's draws never depend on how many months are generated (prefix stability) and partitions can
be generated in any order or in parallel (determinism).
"""
import numpy as np

GEOGRAPHY, PROPERTIES, ARRIVALS, MONTH, EXPORT, TRUTH = range(1, 7)
_MONTH_OFFSET = 1_000  # burn-in months are negative; seeds must not be


def stream(seed: int, purpose: int, partition: int = 0, month: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, purpose, partition, month + _MONTH_OFFSET])
