"""How real extracts go wrong: address variants, typos, missing values, duplicates and invalid rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth import names

NOT_RECORDED = ["", "Not known", "Prefer not to say"]


def _typo(rng, word: str) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:
        return word[:i] + word[i + 1:]  # dropped letter
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swapped letters
    return word[:i] + word[i] + word[i:]  # doubled letter


def _street_variant(rng, street: str) -> str:
    stem, _, kind = street.rpartition(" ")
    u = rng.random()
    if u < 0.25 and kind in names.STREET_ABBREVIATIONS:
        return f"{stem} {names.STREET_ABBREVIATIONS[kind]}"
    if u < 0.32:
        return f"{stem}{kind.lower()}"  # "Ashgrove"
    if u < 0.40:
        return f"{_typo(rng, stem)} {kind}"
    return street


def free_text_addresses(rng, props: pd.DataFrame, style: str) -> tuple[list, list]:
    """Addresses typed into a system by staff or residents, and the postcode as entered (may be blank).

    `style` sets each system's habits: "housing" and "council_tax" (mostly complete), "benefits"
    (resident-typed, most varied), "casework" (homelessness and fuel poverty officers).
    """
    missing_pc = {"housing": 0.01, "council_tax": 0.03, "benefits": 0.08, "casework": 0.12}[style]
    out, postcodes = [], []
    for flat, number, building, street, postcode in zip(props["flat"], props["number"], props["building"],
                                                        props["street"], props["postcode"], strict=False):
        street_text = _street_variant(rng, street) if rng.random() < 0.5 else street
        parts = []
        if isinstance(flat, str) and not isinstance(building, str):  # converted house: "Flat A, 21" / "21A"
            u = rng.random()
            if u < 0.45:
                parts.append(f"Flat {flat}, {number} {street_text}")
            elif u < 0.8:
                parts.append(f"{number}{flat} {street_text}")
            else:
                parts.append(f"FL {flat} {number} {street_text}")
        elif isinstance(building, str):
            u = rng.random()
            if u < 0.5:
                parts.append(f"Flat {flat}, {building}, {number} {street_text}")
            elif u < 0.8:
                parts.append(f"{flat} {building}, {street_text}")
            else:
                parts.append(f"Flat {flat} {number} {street_text}")
        else:
            parts.append(f"{number} {street_text}")
        if rng.random() < 0.4:
            parts.append(rng.choice([names.BOROUGH, "London", "Essex"]))
        pc = "" if rng.random() < missing_pc else postcode
        if pc and rng.random() < 0.15:
            pc = pc.replace(" ", "") if rng.random() < 0.5 else pc.lower()
        text = ", ".join(parts)
        if style in ("council_tax", "housing") or rng.random() < 0.2:
            text = text.upper()
        out.append(text)
        postcodes.append(pc)
    return out, postcodes


def blank_some(rng, values, share: float, blank=None) -> pd.Series:
    """Leave a share of values unrecorded, as `blank` (None) or one of a system's placeholder strings."""
    values = pd.Series(np.asarray(values, dtype=object))
    # One (n, 2) draw: row i's numbers never depend on how many rows follow it (prefix stability).
    u = rng.random((len(values), 2))
    hit = u[:, 0] < share
    if blank is None:
        values[hit] = None
    else:
        values[hit] = np.asarray(blank, dtype=object)[(u[hit, 1] * len(blank)).astype(int)]
    return values


def duplicate_some(rng, frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """Exact duplicate rows, as double exports and re-keyed records produce."""
    dup = frame[rng.random(len(frame)) < share]
    return pd.concat([frame, dup]).sort_index(kind="stable").reset_index(drop=True)


def corrupt_some(rng, frame: pd.DataFrame, share: float, bad_values: dict) -> pd.DataFrame:
    """Replace a value in a few rows with something the system should never have accepted."""
    frame = frame.copy()
    for column, bad in bad_values.items():
        hit = rng.random(len(frame)) < share
        if hit.any():
            frame[column] = frame[column].astype(object)
            frame.loc[hit, column] = bad
    return frame
