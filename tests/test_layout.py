"""The package's floors: imports flow one way, from higher floors to lower ones.

ARCHITECTURE.md draws the same table. A module may import from its own package and from
packages on lower floors, never from its own floor's neighbours or from above; function-
level (lazy) imports count too. A new top-level package must be given a floor here.
"""

import ast
import itertools
from pathlib import Path

import pytest

import rnnkit

FLOORS = {
    "_version": 0,
    "utils": 0,
    "_kernels": 0,  # helpers with no rnnkit imports above them
    "nn": 1,
    "data": 1,  # the engine; data sets and readers
    "optim": 2,
    "distributed": 2,  # optimizers, schedules, clipping; the MPI world
    "train": 3,  # Trainer, truncated BPTT, checkpoints
    "models": 4,
    "diagnostics": 4,  # the estimators; seeing the gradients
    "forecast": 5,  # forecasting series, on the estimators
    "interop": 6,  # ONNX, PyTorch, safetensors
    "experiments": 7,
    "bench": 7,  # experiments and speed measurements
    "cli": 8,  # the command line
    "__main__": 9,
}
PACKAGE = Path(rnnkit.__file__).parent


def _imports(path: Path, module: str, is_package: bool):
    """(line, top-level rnnkit package) for every rnnkit import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] if target != "rnnkit" else [f"rnnkit.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            parts = t.split(".")
            if parts[0] == "rnnkit" and len(parts) > 1:
                yield node.lineno, parts[1]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield path, ".".join(parts), is_package


def test_every_top_level_package_has_a_floor():
    tops = {
        p.name if p.is_dir() else p.stem
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")
    }
    missing = sorted(tops - set(FLOORS))
    assert not missing, f"give these packages a floor in FLOORS and ARCHITECTURE.md: {missing}"


def test_imports_flow_down_the_floors():
    wrong = []
    for path, module, is_package in _modules():
        parts = module.split(".")
        if len(parts) < 2:
            continue  # rnnkit/__init__.py: the public face, may name any floor (lazily)
        own = parts[1]
        for line, target in _imports(path, module, is_package):
            if target != own and FLOORS.get(target, 99) >= FLOORS[own]:
                wrong.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {own} (floor {FLOORS[own]}) "
                    f"imports {target} (floor {FLOORS.get(target, '?')})"
                )
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "rnnkit" / "nn" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    from ..train import Trainer\n    from rnnkit.cli import main\n", encoding="utf-8")
    assert [t for _, t in _imports(bad, "rnnkit.nn.bad", False)] == ["train", "cli"]


@pytest.mark.parametrize(
    "old, new",
    [
        ("losses", "nn.losses"),
        ("cells", "nn.cells"),
        ("functional", "nn.functional"),
        ("init", "nn.init"),
        ("module", "nn.module"),
        ("clip", "optim.clip"),
        ("schedules", "optim.schedules"),
        ("bptt", "train.bptt"),
        ("checkpoint", "train.checkpoint"),
        ("callbacks", "train.callbacks"),
        ("streams", "train.streams"),
        ("train_config", "train.config"),
        ("data.registry", "data.catalog"),
    ],
)
def test_former_paths_name_the_same_module(old, new):
    import importlib

    moved, home = importlib.import_module(f"rnnkit.{old}"), importlib.import_module(f"rnnkit.{new}")
    assert moved is home and getattr(rnnkit, old) is home
    assert home.__spec__.name == f"rnnkit.{new}"


def test_public_names_at_the_top():
    from rnnkit.train import TBPTT, TrainConfig, Trainer

    assert (rnnkit.Trainer, rnnkit.TrainConfig, rnnkit.TBPTT) == (Trainer, TrainConfig, TBPTT)
    assert rnnkit.Module is rnnkit.nn.Module
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = rnnkit.nope


def test_no_module_is_over_the_line_budget():
    """Small files, one concept each: about 400 lines of code at most. The formatter puts each
    argument of a long call on its own line, which adds about a fifth; 520 allows that and no more."""
    budget = 520
    long = sorted(
        (n, str(p.relative_to(PACKAGE.parent)))
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > budget
    )
    assert not long, f"modules over {budget} lines; split them by concept: {long}"


# -- no import cycles ------------------------------------------------------------------------------
def _module_names() -> set:
    return {module for _, module, _ in _modules()}


def _edges(path: Path, module: str, is_package: bool, known: set):
    """(line, imported rnnkit module) for every rnnkit import in a file, function-level included.

    ``from pkg import name`` imports the submodule ``pkg.name`` when there is one, else the
    package ``pkg`` itself (its ``__init__``); relative imports are resolved first.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if sub in known else target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def import_graph() -> dict:
    """module -> {imported module: first line}, over every module of src/rnnkit."""
    known = _module_names()
    graph: dict = {}
    for path, module, is_package in _modules():
        out = graph.setdefault(module, {})
        for line, target in _edges(path, module, is_package, known):
            while target not in known and "." in target:  # `import rnnkit.nn.cells.x` names a module
                target = target.rsplit(".", 1)[0]
            if target in known and target != module:
                out.setdefault(target, line)
    return graph


def find_cycles(graph: dict, ignore=()) -> list:
    """One cycle ``a -> b -> ... -> a`` per strongly connected component of more than one module
    (Tarjan), leaving out the components listed in ``ignore`` (sets of modules)."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10000))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(old)
    return [_one_cycle(graph, set(comp), comp[0]) for comp in comps if set(comp) not in ignore]


def _one_cycle(graph: dict, comp: set, start: str) -> list:
    """A shortest path start -> ... -> start inside one strongly connected component."""
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, v, start]
                if w in comp and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


# Cycles still to be removed, each as the set of the modules of its component (none left).
KNOWN_CYCLES: list[set] = []


def test_no_import_cycles():
    """No module of src/rnnkit reaches itself through imports, lazy (function-level) ones included.

    The graph's nodes are modules; ``from pkg import name`` is an edge to the submodule
    ``pkg.name`` when there is one, else to the package ``pkg`` (its ``__init__``). Package
    ``__init__`` files re-export their submodules, so an edge from a submodule up to its
    own package (``from . import something_in_init``) is a cycle like any other: submodules
    import their siblings directly (``from .sibling import name``), never through the package.
    """
    graph = import_graph()
    cycles = find_cycles(graph, ignore=KNOWN_CYCLES)

    def show(cycle):
        return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)) + f" -> {cycle[-1]}"

    assert not cycles, "import cycles:\n" + "\n".join(show(c) for c in cycles)


def test_the_cycle_check_sees_a_lazy_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 3}, "c": {"a": 7}, "d": {"a": 2}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []
    assert find_cycles(graph, ignore=[{"a", "b", "c"}]) == []
    # function-level imports and `from package import submodule` are edges of the real graph
    real = import_graph()
    assert "rnnkit.nn.cells.registry" in real["rnnkit.nn.cells"]  # from .registry import ...
    assert "rnnkit.nn.cells.rnn" in real["rnnkit.nn.cells"]  # from . import gru, lstm, rnn
    assert "rnnkit.models.base" in real["rnnkit.cli.tasks.task"]  # lazy: inside Task.load_model
