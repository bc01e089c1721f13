"""features/, models/, ethics/ and serving/ never read truth/: the world must stay what a council really sees."""
import ast
import shutil
import sys
from pathlib import Path

from features.sources import TABLES, load_table

ROOT = Path(__file__).resolve().parents[2]


def test_no_code_downstream_of_the_extracts_names_truth_or_imports_synth():
    offenders = []
    for package in ("features", "models", "ethics", "serving"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
            for node in ast.walk(tree):
                if id(node) in docstrings:
                    continue
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "truth" in node.value.lower():
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} mentions {node.value!r}")
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    if any(n == "synth" or n.startswith("synth.") for n in names):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports synth")
    assert offenders == []


def test_loading_every_extract_opens_no_truth_file(small_borough, tmp_path):
    opened = []
    watching = True

    def audit(event, args):
        if watching and event == "open" and args and isinstance(args[0], (str, bytes, Path)):
            opened.append(str(args[0]))

    sys.addaudithook(audit)
    try:
        for table in TABLES:
            load_table(small_borough, table.path)
    finally:
        watching = False
    assert opened, "the audit hook saw no file opened"
    assert not [p for p in opened if "/truth/" in p or p.endswith("/truth")]


def test_extracts_load_with_truth_removed(small_borough, tmp_path):
    copy = tmp_path / "borough"
    shutil.copytree(small_borough / "extracts", copy / "extracts")
    assert not (copy / "truth").exists()
    assert all(load_table(copy, t.path).rows_in > 0 for t in TABLES)
