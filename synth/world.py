"""The fixed world: wards, small areas, streets and the properties on them (the gazetteer's truth)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synth import names
from synth.random_streams import GEOGRAPHY, PROPERTIES, stream

SMALL_AREA_SIZE = 650  # households per small area (an LSOA holds ~650 households)
STREET_SIZE = 45  # addresses per street
POSTCODE_SIZE = 15  # addresses per postcode unit
TENURES = ["owner", "private", "council", "housing_association"]
CT_BANDS = list("ABCDEFGH")
EPC_BANDS = list("ABCDEFG")


def ward_count(households: int) -> int:
    return int(np.clip(round(households / 5_500), 3, len(names.WARDS)))


def small_areas(seed: int, households: int) -> pd.DataFrame:
    """Small areas with their ward and deprivation (a latent z-score; higher is more deprived)."""
    n_areas = -(-households // SMALL_AREA_SIZE)
    n_wards = ward_count(households)
    ward_of_area = np.arange(n_areas) * n_wards // n_areas
    rng = stream(seed, GEOGRAPHY)
    ward_effect = rng.normal(0, 0.6, n_wards)
    deprivation = 0.6 * ward_effect[ward_of_area] + 0.8 * rng.normal(0, 1, n_areas)
    return pd.DataFrame({
        "small_area": [f"E01{900000 + k:06d}" for k in range(n_areas)],
        "ward": [names.WARDS[w] for w in ward_of_area],
        "deprivation": deprivation,
    })


def _street_name(index: int) -> str:
    stems, types = names.STREET_STEMS, names.STREET_TYPES
    # A stride coprime with len(stems) spreads neighbouring streets over different stems.
    return f"{stems[(index * 37) % len(stems)]} {types[(index // len(stems) + index) % len(types)]}"


def _postcode(global_index: int) -> str:
    unit = global_index // POSTCODE_SIZE
    district = 1 + (unit // 400) % 9
    sector = (unit // 40) % 10
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"UP{district} {sector}{letters[unit % 20]}{letters[(unit // 20) % 20]}"


def properties(seed: int, partition: int, first: int, count: int, areas: pd.DataFrame) -> pd.DataFrame:
    """Properties with global indices [first, first + count): address parts, area, tenure, bands."""
    rng = stream(seed, PROPERTIES, partition)
    idx = np.arange(first, first + count)
    area = idx // SMALL_AREA_SIZE
    dep = areas["deprivation"].to_numpy()[area]
    street = idx // STREET_SIZE

    # Buildings along a street: houses, houses converted into flats A-C, and purpose-built blocks.
    kind = np.empty(count, dtype=object)
    flat = np.empty(count, dtype=object)
    number = np.zeros(count, dtype=int)
    building = np.empty(count, dtype=object)
    i, current_street, next_number = 0, -1, 1
    while i < count:
        if street[i] != current_street:
            current_street, next_number = street[i], 1 + int(rng.integers(0, 3)) * 2
        left = int(np.sum(street[i:] == current_street))
        u = rng.random()
        block_p = 0.12 + 0.06 * max(dep[i], 0)
        if u < block_p and left >= 6:
            size = int(min(left, rng.integers(6, 21)))
            name = f"{names.STREET_STEMS[int(rng.integers(0, len(names.STREET_STEMS)))]} " \
                   f"{names.BUILDING_TYPES[int(rng.integers(0, len(names.BUILDING_TYPES)))]}"
            for k in range(size):
                kind[i + k], flat[i + k], number[i + k], building[i + k] = "flat_block", str(k + 1), next_number, name
        elif u < block_p + 0.22 and left >= 2:
            size = int(min(left, rng.integers(2, 4)))
            for k in range(size):
                kind[i + k], flat[i + k], number[i + k], building[i + k] = "converted_flat", "ABC"[k], next_number, None
        else:
            size = 1
            kind[i], flat[i], number[i], building[i] = "house", None, next_number, None
        i += size
        next_number += 2 if rng.random() < 0.8 else 1

    is_house = kind == "house"
    # Tenure: a multinomial logit on building type and area deprivation, tuned to London's mix.
    util = np.column_stack([
        0.15 + 1.0 * is_house - 0.55 * dep,            # owner
        0.25 + 0.15 * dep,                              # private rented
        -1.3 + 0.9 * (kind == "flat_block") + 0.7 * dep - 0.3 * is_house,   # council
        -1.45 + 0.5 * (~is_house) + 0.5 * dep,          # housing association
    ])
    prob = np.exp(util)
    prob /= prob.sum(axis=1, keepdims=True)
    tenure_idx = (prob.cumsum(axis=1) > rng.random(count)[:, None]).argmax(axis=1)
    tenure = np.array(TENURES)[tenure_idx]

    bedrooms = np.where(is_house, rng.choice([2, 3, 4, 5], count, p=[.2, .5, .25, .05]),
                        rng.choice([0, 1, 2, 3], count, p=[.08, .42, .4, .1]))
    # Council tax band rises with size and falls with deprivation (London stock shares).
    band_score = 1.2 * bedrooms + 0.8 * is_house - 0.5 * dep + rng.normal(0, 1.1, count)
    cut = np.quantile(band_score, np.cumsum([.039, .13, .27, .254, .152, .077, .059])) if count > 50 \
        else np.array([0.5, 1.5, 2.8, 3.9, 4.8, 5.6, 6.6])
    ct_band = np.array(CT_BANDS)[np.searchsorted(cut, band_score)]

    # Energy efficiency (SAP points): flats and social homes better, private rented worst.
    sap = (67 + 14 * (~is_house) + 2 * np.isin(tenure, ["council", "housing_association"])
           - 5 * (tenure == "private") + rng.normal(0, 11, count) - rng.exponential(5, count))
    sap = np.clip(np.round(sap), 1, 100).astype(int)
    epc_band = np.array(EPC_BANDS)[_sap_band_index(sap)]

    weekly_social_rent = np.where(tenure == "council", 105 + 9 * bedrooms, 118 + 10 * bedrooms) \
        * rng.lognormal(0, 0.06, count)
    monthly_private_rent = (1050 + 330 * bedrooms) * np.exp(-0.06 * dep) * rng.lognormal(0, 0.15, count)
    return pd.DataFrame({
        "property_index": idx,
        "uprn": 100_090_000_000 + idx * 7 + 3,  # 12 digits, sparse like real UPRNs
        "flat": flat, "number": number, "building": building,
        "street": [_street_name(s) for s in street],
        "postcode": [_postcode(g) for g in idx],
        "small_area": areas["small_area"].to_numpy()[area],
        "ward": areas["ward"].to_numpy()[area],
        "deprivation": dep,
        "property_type": kind,
        "tenure": tenure,
        "bedrooms": bedrooms,
        "ct_band": ct_band,
        "sap": sap,
        "epc_band": epc_band,
        "weekly_rent": np.where(np.isin(tenure, ["council", "housing_association"]),
                                np.round(weekly_social_rent, 2), np.nan),
        "monthly_private_rent": np.where(tenure == "private", np.round(monthly_private_rent, -1), np.nan),
    })


def _sap_band_index(sap: np.ndarray) -> np.ndarray:
    """SAP points to EPC band index (A=0 ... G=6) by the published thresholds."""
    return 6 - np.searchsorted([21, 39, 55, 69, 81, 92], sap, side="right")


def single_line_address(p: pd.DataFrame) -> pd.Series:
    """The gazetteer's canonical single-line address."""
    out = []
    columns = (p["flat"], p["number"], p["building"], p["street"], p["postcode"])
    for flat, number, building, street, postcode in zip(*columns, strict=True):
        parts = []
        if isinstance(flat, str):
            parts.append(f"FLAT {flat}")
        if isinstance(building, str):
            parts.append(building.upper())
        parts.append(f"{number} {street.upper()}")
        out.append(", ".join(parts + [names.BOROUGH.upper(), postcode]))
    return pd.Series(out, index=p.index)
