"""Benchmark: the real server on loopback (`upstream serve`), loaded from a second process.

- single-household /score (homelessness, with reasons): p50 and p99 latency at 1, 8 and 32 concurrent
  clients (goal: p99 <= 50 ms at 32 on 2 cores);
- batch /score, 1,000 households a request: households a second over HTTP against the same scoring done
  in this process (lookup, booster, calibration, rank, band, reasons; goal: ratio >= 0.7);
- whole-borough risk lists: `upstream score --as-of <latest month>`, both targets with reasons, into the
  database (goal: <= 60 s on the default borough).

Needs a home with approved champions and a feature build (`make demo`):

    .venv/bin/python -m bench.serving [--features FILE] [--requests 2000]

The server and its token use a copy of the application database, so the home's own is left as it was.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

TARGET = "homelessness"


def _client(url: str, token: str, bodies: list[dict], concurrency: int, out):
    """The load (in its own process): CONCURRENCY keep-alive connections sending BODIES in turn, each request
    built beforehand, so the client spends its time waiting, not encoding. Latencies in seconds."""
    host, port = url.removeprefix("http://").split(":")
    requests = [(f"POST /score HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
                for body in (json.dumps(b).encode() for b in bodies)]

    async def run():
        latencies, failures, queue = [], 0, list(reversed(requests))

        async def worker():
            nonlocal failures
            reader, writer = await asyncio.open_connection(host, int(port))
            while queue:
                request = queue.pop()
                start = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                failures += not head.startswith(b"HTTP/1.1 200")
            writer.close()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, failures, time.perf_counter() - start

    out.put(asyncio.run(run()))


def load(url: str, token: str, bodies: list[dict], concurrency: int) -> tuple[np.ndarray, int, float]:
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_client, args=(url, token, bodies, concurrency, queue))
    process.start()
    latencies, failures, seconds = queue.get()
    process.join()
    return np.array(latencies), failures, seconds


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 300) -> float:
    import httpx

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not become ready")


def in_process_rate(matrix: Path, uprns: np.ndarray, month: int, batch: int, repeats: int) -> tuple[float, float]:
    """Households a second for the server's own work in this process: with reasons, and the booster alone."""
    from models import tracking
    from serving import registry
    from serving.feature_build import FeatureBuild
    from serving.scoring import Scoring

    tracking.configure()
    served = registry.approved(TARGET, tracking.resolve_version("homelessness-risk", "champion"))
    scoring = Scoring(registry.Selection({TARGET: served}, []), FeatureBuild(matrix, served.model.features))
    months = np.full(batch, month)
    start = time.perf_counter()
    for i in range(repeats):
        rows = scoring.build.find(uprns[i * batch:(i + 1) * batch], months)
        scored = scoring.known(TARGET, rows, months)
        scored.reasons()
    with_reasons = batch * repeats / (time.perf_counter() - start)
    x = scoring.build.matrix(served.model, scoring.build.find(uprns[:batch], months))
    start = time.perf_counter()
    for _ in range(repeats):
        served.model.calibrator(served.model.raw(x))
    return with_reasons, batch * repeats / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=Path, help="Feature build (default: the latest under $UPSTREAM_HOME)")
    parser.add_argument("--requests", type=int, default=2000, help="Single-household requests per concurrency")
    parser.add_argument("--batches", type=int, default=20, help="1,000-household requests")
    parser.add_argument("--port", type=int, default=3997)
    args = parser.parse_args()
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from serving.feature_build import FeatureBuild, latest_matrix, month_start
    from upstream.config import database_url

    matrix = args.features or latest_matrix()
    if matrix is None:
        raise SystemExit("no feature build under $UPSTREAM_HOME: run `make demo` first")
    work = Path(tempfile.mkdtemp(prefix="upstream-bench-serving-"))
    upstream = str(Path(sys.executable).with_name("upstream"))
    source = database_url()
    if source.startswith("sqlite:///"):  # the server's tokens go into a copy: the home's database is left alone
        shutil.copy(source.removeprefix("sqlite:///"), work / "app.db")
        os.environ["UPSTREAM_DATABASE_URL"] = f"sqlite:///{work / 'app.db'}"
    try:
        token = subprocess.run([upstream, "tokens", "create", "--name", "bench", "--role", "service"], check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        build = FeatureBuild(matrix, ["ward"])
        month = int(build.months[-1])
        rows = build.month_rows(month)
        uprns = np.random.default_rng(7).permutation(build.uprns(rows))
        uprns = uprns[uprns >= 0]
        as_of = f"{month_start(month):%Y-%m-%d}"
        url = f"http://127.0.0.1:{args.port}"
        with (work / "server.log").open("w") as log:
            server = subprocess.Popen([upstream, "serve", "--port", str(args.port), "--features", str(matrix)],
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            started = wait_ready(url, server)
            memory = sum(p.memory_info().rss for p in [psutil.Process(server.pid),
                                                       *psutil.Process(server.pid).children(recursive=True)])
            print(f"Feature build {matrix.name}: {len(build):,} rows; latest month {as_of}, "
                  f"{len(uprns):,} households. Server ready in {started:.1f} s, {memory / 1e9:.2f} GB resident.")
            print(f"\nSingle-household /score ({TARGET}, with reasons), {args.requests:,} requests per level:")
            print("| concurrent clients | p50 ms | p99 ms | requests/s | failures |\n|---|---|---|---|---|")
            single = [{"target": TARGET, "households": [{"uprn": str(u), "as_of": as_of}]}
                      for u in uprns[:args.requests]]
            load(url, token, single[:200], 8)  # warm up
            p99_at_32 = None
            for concurrency in (1, 8, 32):
                latencies, failures, seconds = load(url, token, single, concurrency)
                p50, p99 = np.percentile(latencies, [50, 99]) * 1000
                p99_at_32 = p99 if concurrency == 32 else p99_at_32
                print(f"| {concurrency} | {p50:.1f} | {p99:.1f} | {len(latencies) / seconds:,.0f} | {failures} |")
            batch = 1000
            bodies = [{"target": TARGET, "households": [{"uprn": str(u), "as_of": as_of}
                                                        for u in uprns[i * batch:(i + 1) * batch]]}
                      for i in range(args.batches)]
            latencies, failures, seconds = load(url, token, bodies, 1)
            over_http = args.batches * batch / seconds
        finally:
            server.terminate()
            server.wait(30)
        in_process, booster_only = in_process_rate(matrix, uprns, month, batch, args.batches)
        ratio = over_http / in_process
        print(f"\nBatch /score, {batch:,} households a request ({args.batches} requests, {failures} failures): "
              f"{over_http:,.0f} households/s over HTTP; the same work in process {in_process:,.0f}/s "
              f"(booster and calibration alone {booster_only:,.0f}/s).")
        start = time.perf_counter()
        subprocess.run([upstream, "score", "--as-of", as_of, "--features", str(matrix)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        borough = time.perf_counter() - start
        print(f"\nWhole borough, both targets with reasons, into the database (`upstream score --as-of {as_of}`): "
              f"{borough:.1f} s")
        print("\n| goal | value | target | met |\n|---|---|---|---|")
        for name, value, goal, met in [
                ("single /score p99 at 32 clients", f"{p99_at_32:.1f} ms", "<= 50 ms", p99_at_32 <= 50),
                ("batch /score vs in-process", f"{ratio:.2f}", ">= 0.7", ratio >= 0.7),
                ("whole borough, both targets", f"{borough:.1f} s", "<= 60 s", borough <= 60)]:
            print(f"| {name} | {value} | {goal} | {'yes' if met else 'no'} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
