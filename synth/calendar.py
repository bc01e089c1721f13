"""The simulation's clock: month 0 is April 2023, the start of a council tax year."""
from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-04-01")


def month_start(m: int) -> pd.Timestamp:
    return START + pd.DateOffset(months=m)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))
