"""Peak resident memory of this process and its children, sampled in the background."""
from __future__ import annotations

import threading
import time

import psutil


class PeakMemory:
    """Samples the resident memory of this process and its children every 100 ms (only the children with
    include_self=False: a step run as a subprocess, without the benchmark's own memory)."""

    def __init__(self, include_self: bool = True):
        self.peak, self.include_self, self._stop = 0, include_self, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me] * self.include_self + me.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
