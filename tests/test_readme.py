"""The README and ARCHITECTURE.md agree with the code: every import in their Python examples
resolves, and every dotted ``rnnkit.…`` path and every file they name exists."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "ARCHITECTURE.md"]


def _resolve(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(path)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_examples_import_what_exists(doc):
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("rnnkit"):
                for alias in node.names:
                    assert _resolve(f"{node.module}.{alias.name}") is not None
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("rnnkit"):
                        importlib.import_module(alias.name)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_dotted_paths_exist(doc):
    text = doc.read_text(encoding="utf-8")
    paths = set(re.findall(r"`(rnnkit(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))
    missing = []
    for p in sorted(paths):
        try:
            _resolve(p)
        except (ModuleNotFoundError, AttributeError):
            missing.append(p)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_architecture_names_files_that_exist():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    src = ROOT / "src" / "rnnkit"
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z_0-9]+\.py)`", text))
    missing = sorted(p for p in named if not any((base / p).exists() for base in (src, src.parent, ROOT)))
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"


def test_no_merge_conflict_markers_in_tracked_text():
    import subprocess

    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the file list comes from git")
    bad = []
    for name in out.split():
        if not name.endswith((".py", ".md", ".toml", ".txt", ".cfg")) and not name.startswith(".ci/"):
            continue
        for n, line in enumerate((ROOT / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                bad.append(f"{name}:{n}")
    assert not bad, f"merge conflict markers: {bad}"
