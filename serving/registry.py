"""Which versions are served: each target's approved champion from the MLflow registry, passed through the
ethics gate, else the last approved version from the local cache.

At start: registry unreachable -> every target from the cache (degraded); nothing cached -> nothing to
serve, and the caller refuses to start, saying why. Later, `refresh` follows the champion alias: a new
champion the gate refuses is not loaded (the version already served stays, and the refusal is logged and
reported); a served version whose approval no longer holds (rejected, report changed) stops being served.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os

from models.experiment import REGISTERED_NAMES
from models.learner import RiskModel
from serving import cache

log = logging.getLogger("upstream.serving")
REGISTRY_TIMEOUT = float(os.environ.get("UPSTREAM_REGISTRY_TIMEOUT", "15"))


@dataclasses.dataclass(frozen=True)
class Served:
    target: str
    name: str
    version: str
    model: RiskModel
    approval: dict  # the ethics board's decision this version is served under
    run_id: str | None
    source: str  # "registry", or "cache" when served without the registry's say-so (degraded)


@dataclasses.dataclass
class Selection:
    models: dict[str, Served]
    problems: list[str]  # why something is not served as it should be, in words a person can act on

    @property
    def degraded(self) -> bool:
        return bool(self.problems) or any(s.source == "cache" for s in self.models.values())


class RegistryUnreachable(Exception):
    pass


def _bounded(fn, *args):
    """MLflow retries an unreachable store for minutes: give up after REGISTRY_TIMEOUT seconds."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, *args).result(timeout=REGISTRY_TIMEOUT)
    except concurrent.futures.TimeoutError:
        raise RegistryUnreachable(f"no answer within {REGISTRY_TIMEOUT:g} s") from None
    finally:
        pool.shutdown(wait=False)


def _check_registry():
    from mlflow import MlflowClient

    from models import tracking

    tracking.configure()
    try:
        MlflowClient().search_registered_models(max_results=1)
    except Exception as exc:  # MLflow, SQLAlchemy, requests: any of them means unreachable
        raise RegistryUnreachable(type(exc).__name__) from None


def _approval(decision) -> dict:
    record = dataclasses.asdict(decision)
    record["at"] = record["at"].isoformat(timespec="seconds") if hasattr(record["at"], "isoformat") else record["at"]
    return record


def champion_version(target: str) -> str | None:
    from models import tracking

    try:
        return tracking.resolve_version(REGISTERED_NAMES[target], tracking.CHAMPION)
    except ValueError:
        return None


def approved(target: str, version: str) -> Served:
    """VERSION of TARGET's model if the gate lets it be served (NotServable says why not); cached once loaded."""
    from mlflow import MlflowClient

    from ethics.approval import servable
    from models import tracking

    name = REGISTERED_NAMES[target]
    decision = servable(name, version)
    run_id = MlflowClient().get_model_version(name, version).run_id
    cached = cache.load(name, version)
    model = cached[1] if cached else tracking.load_model(name, version)
    served = Served(target, name, str(version), model, _approval(decision), run_id, "registry")
    cache.save(name, served.version, model, served.approval, run_id)
    return served


def from_cache(target: str) -> Served | None:
    found = cache.load(REGISTERED_NAMES[target])
    if found is None:
        return None
    version, model, approval, run_id = found
    return Served(target, REGISTERED_NAMES[target], version, model, approval, run_id, "cache")


def _refuse(problems: list[str], message: str):
    log.warning("Not served: %s", message)
    problems.append(message)


def _fallback(target: str, refused: str | None, served: Served | None) -> Served | None:
    """The newest other version that still passes the gate: the one being served, else one cached."""
    from ethics.approval import NotServable

    name = REGISTERED_NAMES[target]
    candidates = ([served.version] if served else []) + cache.versions(name)
    for version in dict.fromkeys(v for v in candidates if v != refused):
        try:
            return approved(target, version)
        except NotServable:
            continue
    return None


def select(current: dict[str, Served] | None = None) -> Selection:
    """What to serve now. With CURRENT (a refresh) a refused champion leaves the served version in place."""
    from ethics.approval import NotServable, servable

    current, models, problems = current or {}, {}, []
    try:
        _bounded(_check_registry)
    except RegistryUnreachable as exc:
        for target, name in REGISTERED_NAMES.items():
            kept = current.get(target) or from_cache(target)
            if kept:
                models[target] = kept
            else:
                _refuse(problems, f"{name}: no approved version is cached to serve while the registry is down")
        problems.insert(0, f"the model registry is unreachable ({exc}): serving the last approved versions")
        return Selection(models, problems)
    for target, name in REGISTERED_NAMES.items():
        wanted, served = champion_version(target), current.get(target)
        try:
            if wanted is None:
                raise NotServable(f"{name} has no approved champion")
            if served and served.version == wanted and served.source == "registry":
                servable(name, wanted)  # its approval must still hold
                models[target] = served
            else:
                models[target] = approved(target, wanted)
        except NotServable as exc:
            _refuse(problems, str(exc))
            fallback = _fallback(target, wanted, served)
            if fallback:
                models[target] = fallback
                problems[-1] += f"; serving the previous approved version {fallback.version}"
        except Exception as exc:  # the approval store or artifacts unreachable: the gate cannot say yes
            fallback = served or from_cache(target)
            _refuse(problems, f"{name}: approval could not be checked ({type(exc).__name__})"
                    + (f"; serving version {fallback.version} as last approved" if fallback else ""))
            if fallback:
                models[target] = fallback
    return Selection(models, problems)
