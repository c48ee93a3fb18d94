"""The README, the documentation pages and ARCHITECTURE.md agree with the code: every import
in their Python examples resolves, every dotted ``rnnkit.…`` path and every repository file
they name exists, every page of the site's navigation exists, and the README stays short.

The site itself is built by ``mkdocs build --strict`` in CI; these checks are the fast part."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
# Text that users read: the README, the site's pages, the benchmarks' index.
USER_DOCS = [README, *PAGES, ROOT / "benchmarks" / "README.md"]
DOCS = [*USER_DOCS, ROOT / "ARCHITECTURE.md"]
README_MAX_BYTES = 16 * 1024


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


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


def test_the_documents_are_there():
    assert README.exists() and (ROOT / "mkdocs.yml").exists()
    assert len(PAGES) >= 10, f"expected the site's pages under docs/, found {[_id(p) for p in PAGES]}"


def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md: expected at most {README_MAX_BYTES} bytes, got {size}; "
        "hint: move the details to a page under docs/ and link to it"
    )


def test_readme_shows_the_command_ci_runs():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip("no .ci/run in this checkout")
    command = ci.read_text(encoding="utf-8").strip().splitlines()[-1].strip()
    assert "pytest" in command, f".ci/run: expected the test command on its last line, got {command!r}"
    assert command in README.read_text(encoding="utf-8"), f"README.md: expected the test command {command!r}"


@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_python_examples_import_what_exists(doc):
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnkit"):
                for alias in node.names:
                    assert _resolve(f"{node.module}.{alias.name}") is not None
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("rnnkit"):
                        importlib.import_module(alias.name)


@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_dotted_paths_exist(doc):
    text = doc.read_text(encoding="utf-8")
    paths = set(re.findall(r"`(rnnkit(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))
    paths |= set(re.findall(r"^::: (rnnkit(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$", text, re.M))  # mkdocstrings
    missing = []
    for p in sorted(paths):
        try:
            _resolve(p)
        except (ModuleNotFoundError, AttributeError):
            missing.append(p)
    assert not missing, f"{_id(doc)} names paths that do not exist: {missing}"


# A path inside the repository: under one of its top-level folders, or inside the package.
_REPO_PATH = re.compile(r"(?<![\w./<-])((?:src|benchmarks|docs|examples|tests|\.ci|rnnkit)/[\w.*/-]*[\w*])")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _named_paths(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    named = set(_REPO_PATH.findall(text))
    for target in _LINK.findall(text):
        target = target.split("#", 1)[0]
        if target and "://" not in target and not target.startswith("mailto:"):
            named.add((doc.parent / target).resolve().relative_to(ROOT).as_posix())
    return named


def _exists(path: str) -> bool:
    bases = (ROOT, ROOT / "src")
    if "*" in path:
        return any(any(base.glob(path)) for base in bases)
    return any((base / path).exists() for base in bases)


@pytest.mark.parametrize("doc", USER_DOCS, ids=_id)
def test_repository_paths_exist(doc):
    missing = sorted(p for p in _named_paths(doc) if not _exists(p))
    assert not missing, f"{_id(doc)} names files that do not exist: {missing}"


def test_navigation_pages_exist_and_every_page_is_in_it():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    listed = set(re.findall(r"([\w/.-]+\.md)\s*$", nav, re.M))
    assert listed, "mkdocs.yml: expected a nav section listing the pages"
    missing = sorted(p for p in listed if not (ROOT / "docs" / p).exists())
    assert not missing, f"mkdocs.yml lists pages that do not exist under docs/: {missing}"
    unlisted = sorted(set(p.relative_to(ROOT / "docs").as_posix() for p in PAGES) - listed)
    assert not unlisted, f"pages under docs/ missing from mkdocs.yml's nav: {unlisted}"


def test_changelog_lists_changed_defaults():
    text = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    assert re.search(r"^#+ Changed defaults\s*$", text, re.M), (
        "docs/changelog.md: expected a 'Changed defaults' section"
    )


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
        if not name.endswith((".py", ".md", ".toml", ".txt", ".cfg", ".yml")) and not name.startswith(".ci/"):
            continue
        for n, line in enumerate((ROOT / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                bad.append(f"{name}:{n}")
    assert not bad, f"merge conflict markers: {bad}"
