"""When things go wrong: the registry unreachable at start (serve the cached approved versions, "degraded";
nothing cached: refuse to start, saying why) and the application database down (503, then recovery)."""
from __future__ import annotations

import socket
import subprocess
import threading
import time

import httpx

from serving import database, tokens
from tests.serving.conftest import UPSTREAM, copy_cache, free_port, home_env, start_server

AS_OF = "2025-06-01"


class Proxy:
    """A TCP relay to PostgreSQL that the test can cut and restore: a database outage on demand."""

    def __init__(self, port: int, upstream=("127.0.0.1", 5432)):
        self.port, self.upstream, self.sockets = port, upstream, []
        self.listener = None

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close alone would not stop it
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []


def resident(served) -> str:
    """A UPRN resident at AS_OF in the served feature build."""
    import pandas as pd

    from features.build import key_map_path

    rows = pd.read_parquet(served.matrix, columns=["household_key", "as_of"],
                           filters=[("as_of", "==", pd.Timestamp(AS_OF))])
    return str(pd.read_parquet(key_map_path(served.matrix)).set_index("household_key").loc[
        rows["household_key"].iat[0], "uprn"])


def score(url, token, uprn):
    return httpx.post(f"{url}/score", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "target": "homelessness", "households": [{"uprn": uprn, "as_of": AS_OF}]})


def test_registry_down_serves_the_cache_degraded_and_a_database_outage_is_a_503_that_recovers(
        served, postgres_database, tmp_path, monkeypatch):
    uprn = resident(served)
    home = tmp_path / "home"
    copy_cache(served.home, home)
    proxy = Proxy(free_port())
    proxy.start()
    url = postgres_database.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    monkeypatch.setenv("UPSTREAM_DATABASE_URL", url)
    token = tokens.create("resilience tests", "service")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the registry is down
    server = start_server(home_env(home, MLFLOW_TRACKING_URI=nowhere, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
                                   UPSTREAM_DATABASE_URL=url, UPSTREAM_REFRESH_SECONDS="3600",
                                   UPSTREAM_API_AUDIT_SECONDS="3600"),
                          served.matrix, tmp_path / "server.log")
    try:
        ready = httpx.get(f"{server.url}/readyz").json()
        assert ready["status"] == "degraded"
        assert "the model registry is unreachable" in ready["problems"][0]
        assert {m["source"] for m in ready["models"].values()} == {"cache"}
        answered = score(server.url, token, uprn)
        assert answered.status_code == 200, answered.text
        assert answered.json()["results"][0]["model_version"] == ready["models"]["homelessness"]["version"]

        proxy.cut()
        down = score(server.url, token, uprn)
        assert down.status_code == 503
        assert "the application database is unavailable" in down.json()["detail"]
        unready = httpx.get(f"{server.url}/readyz", timeout=30)  # an orchestrator takes it out of service
        assert unready.status_code == 503 and "application database" in unready.json()["problems"][0]
        proxy.start()
        deadline = time.monotonic() + 20
        while (back := score(server.url, token, uprn)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert back.status_code == 200, back.text
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
        from serving.dashboard import audit

        for db in database._engines.values():
            db.dispose()  # this process's connections died with the proxy's cut
        assert not audit.search(what="scored via API", who="token resilience tests")  # counted, not yet written
        server.stop()  # a restart, say: what was counted is written on the way down
        assert "homelessness: 2 requests" in audit.search(what="scored via API", who="token resilience tests")[0][
            "detail"]
    finally:
        server.stop()
        proxy.cut()
        for db in database._engines.values():
            db.dispose()
        database._engines.clear()


def test_with_the_registry_down_and_nothing_cached_the_service_refuses_to_start_and_says_why(served, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([UPSTREAM, "serve", "--port", str(free_port()), "--features", str(served.matrix)],
                            env=home_env(tmp_path / "empty", MLFLOW_TRACKING_URI=nowhere,
                                         MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"),
                            capture_output=True, text=True, timeout=120)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, said
    assert "cannot start: no approved model can be served: the model registry is unreachable" in said
    assert "homelessness-risk: no approved version is cached" in said
    assert "Traceback" not in said
