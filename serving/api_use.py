"""What each API token scored, written to the audit log as one row per token and target per interval
(requests and households), not one per request: a row per request (an SQLite commit each) put /score's p99
at 32 clients at 273 ms against 39. Which household was explained is written at once (`api.explain`)."""
from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter

log = logging.getLogger("upstream.serving")
SECONDS = float(os.environ.get("UPSTREAM_API_AUDIT_SECONDS", "60"))


class ApiUse:
    def __init__(self, seconds: float = SECONDS):
        self.seconds, self.counts, self.lock = seconds, Counter(), threading.Lock()
        self._writer: threading.Thread | None = None
        atexit.register(self.write_remaining)

    def add(self, token: str, target: str, by_uprn: int, by_values: int):
        with self.lock:
            self.counts[(token, target, "requests")] += 1
            self.counts[(token, target, "by UPRN")] += by_uprn
            self.counts[(token, target, "by values")] += by_values
            if self._writer is None:
                self._writer = threading.Thread(target=self._every, name="api-audit", daemon=True)
                self._writer.start()

    def flush(self):
        """Write what was counted, in one transaction; if it fails, the counts are kept for the next try."""
        from serving.dashboard import audit

        with self.lock:
            counts, self.counts = self.counts, Counter()
        rows = [{"who": f"token {token}", "role": "service", "what": "scored via API",
                 "detail": f"{target}: {counts[(token, target, 'requests')]} requests, "
                           f"{counts[(token, target, 'by UPRN')]} households by UPRN, "
                           f"{counts[(token, target, 'by values')]} by values (in the {self.seconds:g} s to this time)"}
                for token, target in dict.fromkeys((t, g) for t, g, _ in counts)]
        try:
            if rows:
                audit.record_all(rows)
        except Exception:
            with self.lock:
                self.counts.update(counts)
            raise

    def write_remaining(self):
        """At shutdown, what was not yet written (the database may be gone by then: said, not raised). The
        service calls it on shutdown: a worker stopped by a signal never runs atexit."""
        try:
            self.flush()
        except Exception as exc:
            log.warning("API use since the last write could not be audited at exit: %s", type(exc).__name__)

    def _every(self):
        while True:
            threading.Event().wait(self.seconds)
            try:
                self.flush()
            except Exception:  # the database may be down a while: keep counting, write what can be written
                log.exception("Writing API use to the audit log failed; it is tried again")


api_use = ApiUse()
