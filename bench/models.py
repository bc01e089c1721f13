"""Benchmark: a full retrain on a freshly generated borough (features -> train -> register, both targets, each
step the real `upstream` command in its own process, as `make demo` runs it),
then one table per target: the model, the rule councils use today, the logistic regression and the oracle,
averaged over the rolling test windows, with the ratios the models issue sets goals for. A last row per
target, "perfect records", estimates how much of the oracle's edge no council data can reach (see
synth.evaluation.recordable_ceiling).

    .venv/bin/python -m bench.models [--households 110000] [--months 36] [--seed 2027] [--readme README.md]

With --readme the tables replace the block between `<!-- bench:models -->` and `<!-- /bench:models -->`.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench._memory import PeakMemory
from synth.evaluation import recordable_ceiling

COLUMNS = [("auc", "ROC AUC"), ("average_precision", "avg precision"), ("brier", "Brier"),
           ("calibration_error", "calibration error"), ("lift_top1pct", "lift top 1%"),
           ("precision_at_k", "precision@k"), ("recall_at_k", "recall@k")]
NAMES = {"model": "LightGBM, calibrated", "rule": "rule used today", "logistic": "logistic regression",
         "oracle": "oracle (truth)"}
MARK = ("<!-- bench:models -->", "<!-- /bench:models -->")


def cell(value) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def goals(target: str, model: dict, rule: dict, logistic: dict) -> list[tuple[str, float, str, bool]]:
    auc_goal = 0.70 if target == "fuel_poverty" else 0.80
    return [
        ("precision@k vs rule", model["precision_at_k"] / rule["precision_at_k"], ">= 2", 
         model["precision_at_k"] >= 2 * rule["precision_at_k"]),
        ("precision@k vs logistic", model["precision_at_k"] / logistic["precision_at_k"], "> 1",
         model["precision_at_k"] > logistic["precision_at_k"]),
        ("calibration error", model["calibration_error"], "<= 0.01", model["calibration_error"] <= 0.01),
        ("AUC skill vs oracle", model["auc_skill"], f">= {auc_goal}", model["auc_skill"] >= auc_goal),
        ("precision@k vs oracle", model["precision_ratio"], ">= 0.75", model["precision_ratio"] >= 0.75),
    ]


def target_table(target: str, metrics: pd.DataFrame, splits: dict, capacity: int, ceiling: dict) -> str:
    mean = metrics.groupby("scorer", sort=False)[[c for c, _ in COLUMNS] + ["calibration_floor", "auc_skill",
                                                                            "precision_ratio"]].mean()
    tested = [name for name in splits if name != "production"]
    windows = ", ".join(splits[name]["test"] for name in tested)
    lines = [f"**{target.replace('_', ' ')}** — mean of {len(tested)} rolling test windows ({windows}); "
             f"k = {capacity} households a month", "",
             "| scorer | " + " | ".join(name for _, name in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for scorer in ("model", "rule", "logistic", "oracle"):
        lines.append(f"| {NAMES[scorer]} | " + " | ".join(cell(mean.loc[scorer, c]) for c, _ in COLUMNS) + " |")
    lines.append(f"| perfect records (ceiling)* | {ceiling['ceiling_auc']:.3f} | | | | | "
                 f"{ceiling['ceiling_precision_at_k']:.3f} | |")
    lines += ["", "| ratio | value | goal | met |", "|---|---|---|---|"]
    rows = goals(target, *(mean.loc[s].to_dict() for s in ("model", "rule", "logistic")))
    lines += [f"| {name} | {value:.{3 if 'calibration' in name else 2}f} | {goal} | {'yes' if met else 'no'} |"
              for name, value, goal, met in rows]
    lines.append(f"| perfect records: AUC skill vs oracle* | {ceiling['auc_skill']:.2f} | | |")
    lines.append(f"| perfect records: precision@k vs oracle* | {ceiling['precision_ratio']:.2f} | | |")
    lines.append(f"| calibration error of a perfectly calibrated model on these rows** | "
                 f"{mean.loc['model', 'calibration_floor']:.3f} | | |")
    return "\n".join(lines)


def run_step(name: str, command: list[str], timings: dict, peaks: dict):
    """One stage as its own process, as `make demo` runs it: wall time and the peak memory of its processes."""
    with PeakMemory(include_self=False) as memory:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        timings[name] = time.perf_counter() - start
    peaks[name] = memory.peak


def logged_result(target: str) -> tuple[pd.DataFrame, dict, int]:
    """The challenger's per-split metrics and splits, as its training run logged them to MLflow."""
    from mlflow import MlflowClient
    from mlflow.artifacts import load_text

    from models import tracking
    from models.experiment import REGISTERED_NAMES

    tracking.configure()
    version = MlflowClient().get_model_version_by_alias(REGISTERED_NAMES[target], tracking.CHALLENGER)
    run = MlflowClient().get_run(version.run_id)
    metrics = pd.read_csv(io.StringIO(load_text(f"{run.info.artifact_uri}/metrics/splits.csv")))
    splits = json.loads(load_text(f"{run.info.artifact_uri}/splits.json"))
    return metrics, splits, int(run.data.params["capacity"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=110_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=2027, help="A fresh seed: not the demo's 42.")
    parser.add_argument("--readme", type=Path, help="Write the tables into this file's bench:models block.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="upstream-bench-models-"))
    os.environ["UPSTREAM_HOME"] = str(work / "home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    upstream = str(Path(sys.executable).with_name("upstream"))
    try:
        data, links, matrix = work / "borough", work / "links.parquet", work / "features.parquet"
        subprocess.run([upstream, "synth", "--households", str(args.households), "--months", str(args.months),
                        "--seed", str(args.seed), "--out", str(data)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([upstream, "link", "--data", str(data), "--out", str(links)], check=True,
                       stdout=subprocess.DEVNULL)
        timings, peaks, tables = {}, {}, []
        run_step("features", [upstream, "features", "--data", str(data), "--links", str(links), "--out", str(matrix)],
                 timings, peaks)
        for target in ("homelessness", "fuel_poverty"):
            run_step(f"train and register {target}", [upstream, "train", "--data", str(data), "--features",
                                                       str(matrix), "--target", target], timings, peaks)
            metrics, splits, capacity = logged_result(target)
            latest = splits[metrics["split"].iloc[-1]]
            test = pd.date_range(*[f"{m}-01" for m in latest["test"].split(" to ")], freq="MS")
            ceiling = recordable_ceiling(data, target, list(test), latest["calibration"].split(" to ")[1] + "-01",
                                         capacity)
            tables.append(target_table(target, metrics, splits, capacity, ceiling))
        steps = "; ".join(f"{k} {v:.0f} s, {peaks[k] / 1e9:.2f} GB" for k, v in timings.items())
        text = [f"Borough: {args.households:,} households, {args.months} months, seed {args.seed}. Full retrain "
                f"(features -> train -> register, both targets, each step its own process as in `make demo`): "
                f"{sum(timings.values()):.0f} s, peak memory {max(peaks.values()) / 1e9:.2f} GB ({steps}).", *tables]
        text.append("\\* *perfect records*: a LightGBM given noise-free, perfectly linked records of all a council "
                    "could record (benefits, arrears, council tax stage, household and property facts) but not what "
                    "no council system records (a landlord's notice, a relationship ending, family asking someone "
                    "to leave, abuse, income), measured on the latest test window against the oracle on the "
                    "truth's rows. The oracle's edge over it is out of reach of any model of council data.")
        text.append("\\*\\* the mean calibration error a perfectly calibrated scorer would show on the same test rows "
                    "(outcomes drawn from its own scores; `models.metrics.calibration_floor`): with a few thousand "
                    "labelled rows a month, 20 bins of the score are noisy, so read the calibration error against it.")
        report = "\n\n".join(text)
        print(report)
        if args.readme:
            page = args.readme.read_text()
            block = f"{MARK[0]}\n{report}\n{MARK[1]}"
            page, found = re.subn(re.escape(MARK[0]) + ".*?" + re.escape(MARK[1]), lambda _: block, page, flags=re.S)
            if not found:
                raise SystemExit(f"{args.readme} has no {MARK[0]} ... {MARK[1]} block")
            args.readme.write_text(page)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
