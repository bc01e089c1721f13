"""A fingerprint of a set of extracts: which data a model was trained on, without copying any of it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extracts_fingerprint(data_dir: Path) -> str:
    """SHA-256 over every extract file's relative path and content hash. The export's manifest.json
    already holds the content hashes when there is one; otherwise the files are hashed here."""
    data_dir = Path(data_dir)
    manifest = data_dir / "manifest.json"
    known = json.loads(manifest.read_text()).get("files", {}) if manifest.exists() else {}
    files = sorted(p for p in (data_dir / "extracts").rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no extracts under {data_dir / 'extracts'}")
    digest = hashlib.sha256()
    for path in files:
        relative = path.relative_to(data_dir).as_posix()
        digest.update(f"{relative}\0{known.get(relative) or _sha256(path)}\n".encode())
    return digest.hexdigest()
