"""Generate a whole borough: partitions of properties in parallel, written as extracts and truth."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth import exports, truth, world
from synth.calendar import START, month_start
from synth.households import COMPOSITIONS
from synth.partition import PartitionSimulation
from synth.random_streams import EXPORT, stream
from synth.scenarios import SCENARIOS

PARTITION_SIZE = 25_000  # fixed, so output never depends on how the work is split
PARQUET_TABLES = {"rent/transactions", "council_tax/transactions"}  # large: one Parquet file per partition
GENERATOR_VERSION = "1"


@dataclass(frozen=True)
class BoroughSpec:
    households: int = 110_000
    months: int = 36
    seed: int = 42
    scenario: str = "baseline"

    def __post_init__(self):
        if self.households < 100:
            raise ValueError("a borough needs at least 100 households")
        if not 7 <= self.months <= 120:
            raise ValueError("months must be between 7 and 120 (the outcome window is 6 months)")
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose from {', '.join(SCENARIOS)}")


def _write_parquet(frame: pd.DataFrame, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="zstd")


def _run_partition(args) -> int:
    spec, partition, first, count, parts = args
    areas = world.small_areas(spec.seed, spec.households)
    props = world.properties(spec.seed, partition, first, count, areas)
    raw = PartitionSimulation(spec.seed, partition, props, spec.months, SCENARIOS[spec.scenario]).run()
    extracts, hidden = exports.build(lambda name: stream(spec.seed, EXPORT, partition, zlib.crc32(name.encode())),
                                     props, raw, spec.months, partition)
    for name, frame in extracts.items():
        if name in PARQUET_TABLES:
            _write_parquet(frame, parts / "extracts" / name / f"part-{partition:05d}.parquet")
        else:
            path = parts / "extracts" / f"{name}.csv" / f"{partition:05d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False, float_format="%.2f")
    households = raw["households"].set_index("household_id")
    hidden["homelessness"] = truth.homelessness(raw["hazard"], raw["departures"], households["uprn"], spec.months)
    hidden["fuel_poverty"] = truth.fuel_poverty(raw["fuel"], households["uprn"])
    hidden["households"] = _households_truth(raw, props)
    hidden["properties"] = props.drop(columns=["flat", "number", "building", "street"])
    panel = raw["hazard"][raw["hazard"]["month"] >= 0].merge(raw["fuel"], on=["household_id", "month"])
    panel.insert(1, "as_of", truth.month_starts(panel.pop("month").to_numpy()))
    hidden["panel"] = panel
    for name, frame in hidden.items():
        _write_parquet(frame, parts / "truth" / name / f"{partition:05d}.parquet")
    return count


def _households_truth(raw: dict, props: pd.DataFrame) -> pd.DataFrame:
    h = raw["households"].copy()
    h["composition"] = np.array(COMPOSITIONS)[h["composition"]]
    h["tenure"] = h["uprn"].map(props.set_index("uprn")["tenure"])
    h["arrival"] = truth.month_starts(h.pop("arrival_month").to_numpy())
    dep = raw["departures"].set_index("household_id")
    h["move_out"] = h["household_id"].map(dep["move_out"])
    h["left_after_duty"] = h["household_id"].map(dep["after_duty"]).astype("boolean")
    return h


def _merge(parts: Path, out: Path):
    for folder in sorted((parts / "extracts").glob("*/*.csv")):
        target = out / "extracts" / folder.parent.name / folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as sink:
            for i, piece in enumerate(sorted(folder.iterdir())):
                with open(piece, "rb") as src:
                    if i:
                        src.readline()  # header once
                    shutil.copyfileobj(src, sink)
    for name in PARQUET_TABLES:
        source = parts / "extracts" / name
        if source.exists():
            shutil.copytree(source, out / "extracts" / name)
    for folder in sorted((parts / "truth").iterdir()):
        pieces = sorted(folder.iterdir())
        writer = None
        for piece in pieces:
            table = pq.read_table(piece)
            if writer is None:
                writer = pq.ParquetWriter(out / "truth" / f"{folder.name}.parquet", table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
        writer.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generate(spec: BoroughSpec, out: Path, workers: int | None = None,
             progress: Callable[[int], None] | None = None) -> dict:
    """Write DIR/extracts/<system>/..., DIR/truth/*.parquet and DIR/manifest.json; returns the manifest."""
    out = Path(out)
    for sub in ("extracts", "truth", ".parts"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "truth").mkdir(parents=True)
    parts = out / ".parts"
    jobs = [(spec, i, first, min(PARTITION_SIZE, spec.households - first), parts)
            for i, first in enumerate(range(0, spec.households, PARTITION_SIZE))]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers == 1:
        done = map(_run_partition, jobs)
        for count in done:
            progress and progress(count)
    else:
        with ProcessPoolExecutor(workers) as pool:
            for count in pool.map(_run_partition, jobs):
                progress and progress(count)
    _merge(parts, out)
    shutil.rmtree(parts)
    files = sorted(p for p in (out / "extracts").rglob("*") if p.is_file())
    manifest = {
        "generator_version": GENERATOR_VERSION, **asdict(spec),
        "start": str(START.date()), "extract_date": str((month_start(spec.months) - pd.Timedelta(days=1)).date()),
        "files": {str(p.relative_to(out)): _sha256(p) for p in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
