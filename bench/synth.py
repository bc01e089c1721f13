"""Benchmark: generate the default borough (110k households) and a 1M-household one; print wall time and
peak memory of the whole process tree (the generator runs one worker per core).

    .venv/bin/python -m bench.synth [--households 110000 1000000] [--months 36] [--keep DIR]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import psutil

from bench._memory import PeakMemory
from synth import BoroughSpec, generate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, nargs="+", default=[110_000, 1_000_000])
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--keep", type=Path, help="Keep the boroughs under this folder.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="upstream-bench-"))
    print(f"{'households':>12} {'months':>6} {'seconds':>8} {'peak GB':>8} {'extracts GB':>11} {'cores':>5}")
    try:
        for n in args.households:
            out = root / f"borough-{n}"
            with PeakMemory() as memory:
                start = time.perf_counter()
                generate(BoroughSpec(households=n, months=args.months, seed=42), out)
                seconds = time.perf_counter() - start
            size = sum(p.stat().st_size for p in (out / "extracts").rglob("*") if p.is_file()) / 1e9
            print(f"{n:>12,} {args.months:>6} {seconds:>8.1f} {memory.peak / 1e9:>8.2f} {size:>11.2f} "
                  f"{psutil.cpu_count():>5}", flush=True)
            if not args.keep:
                shutil.rmtree(out)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
