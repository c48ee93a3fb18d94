"""``rnnkit runs [FOLDER]``: the runs in a folder as a table; ``--compare A B``; ``--plot FILE.png``.

Each row is one run folder (:mod:`rnnkit.cli.runs`) found under FOLDER (``runs`` by
default; a run folder's own folders are not searched): its task, data, key settings,
status, best validation loss (the training loss when it did not validate), its score on
the evaluation split and the training time. ``--compare A B`` shows the settings that
differ between two runs and their scores and per-epoch losses side by side; ``--plot``
draws the loss curves of the runs listed (or compared) in one PNG (the ``plot`` extra).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..utils import plots
from ._base import EXIT_OK, CliError, Command, Console, UsageError, examples
from .options import did_you_mean
from .runs import Run, RunError

#: column -> (header, how the row's value is shown); the order of the table
COLUMNS = {
    "run": "run",
    "task": "task",
    "data": "data",
    "cell": "cell",
    "hidden_size": "hidden",
    "num_layers": "layers",
    "epochs": "epochs",
    "lr": "lr",
    "status": "status",
    "best_val_loss": "best val_loss",
    "score": "score",
    "metric": "metric",
    "seconds": "time (s)",
    "created": "created",
}
_SETTINGS = ("data", "cell", "hidden_size", "num_layers", "epochs", "lr")
_DEPTH = 3  # FOLDER/a/b/c/run.json at the deepest


def find_runs(root: Path) -> list[Run]:
    """The run folders under ``root`` (``root`` itself when it is one), in name order."""
    if not root.is_dir():
        raise CliError(f"FOLDER {root}: no such folder; hint: 'rnnkit train TASK' writes runs under runs/")
    found: list[Run] = []

    def walk(folder: Path, depth: int) -> None:
        if (folder / "run.json").is_file():
            found.append(Run(folder))
            return  # a run's own folders (plots, tensorboard, mlruns) hold no runs
        if depth < _DEPTH:
            for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                walk(child, depth + 1)

    walk(root, 0)
    return found


def run_row(run: Run, root: Path) -> dict:
    """One run's row: the values of :data:`COLUMNS` (None where the run has none)."""
    row: dict = dict.fromkeys(COLUMNS)
    row["run"] = _label(run, root)
    try:
        info = run.info()
    except RunError:
        row["status"] = "unreadable run.json"
        return row
    row.update(task=info.get("task"), status=info.get("status"), created=info.get("created"))
    row["seconds"] = info.get("train_seconds")
    try:
        config = run.read_config()
    except RunError:
        config = {}
    for key in _SETTINGS:
        row[key] = config.get(key)
    if isinstance(row["data"], str) and ("/" in row["data"] or "\\" in row["data"]):
        row["data"] = Path(row["data"]).name  # a file: its name
    try:
        metrics = run.read_metrics()
    except RunError:
        return row
    row["best_val_loss"] = best_loss(metrics.get("epochs") or [])
    results = metrics.get("results") or {}
    if _number(results.get("model")):
        row["score"], row["metric"] = float(results["model"]), results.get("metric")
    return row


def best_loss(epochs: list[dict]) -> float | None:
    """The lowest validation loss of the epochs (their training loss when none validated)."""
    key = "val_loss" if any(_number(e.get("val_loss")) for e in epochs) else "loss"
    values = [float(e[key]) for e in epochs if _number(e.get(key)) and math.isfinite(e[key])]
    return min(values) if values else None


def sort_rows(rows: list[dict], column: str, reverse: bool = False) -> list[dict]:
    """Rows ordered by ``column`` (numbers as numbers); a run without the value comes last."""
    present = [r for r in rows if r.get(column) is not None]
    missing = [r for r in rows if r.get(column) is None]
    numeric = all(_number(r[column]) for r in present)
    present.sort(key=lambda r: r[column] if numeric else str(r[column]), reverse=reverse)
    return present + missing


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Aligned text: a header line and one line per row (numbers right-aligned)."""
    columns = columns or list(COLUMNS)
    headers = [COLUMNS.get(c, c) for c in columns]
    cells = [[(_show(r.get(c)), _number(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(h)] + [len(line[i][0]) for line in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for line in cells:
        shown = [v.rjust(w) if num else v.ljust(w) for (v, num), w in zip(line, widths, strict=True)]
        lines.append("  ".join(shown).rstrip())
    return "\n".join(lines)


def compare(a: Run, b: Run) -> str:
    """The settings that differ between two runs, then their scores and losses side by side."""
    info = [a.info(), b.info()]
    configs = [a.read_config(), b.read_config()]
    metrics = [a.read_metrics(), b.read_metrics()]
    lines = [f"A: {a.path}  ({info[0].get('task')}, {info[0].get('status')})"]
    lines.append(f"B: {b.path}  ({info[1].get('task')}, {info[1].get('status')})")
    keys = list(dict.fromkeys([*configs[0], *configs[1]]))
    differ = [{"key": k, "A": configs[0].get(k), "B": configs[1].get(k)} for k in keys if _differs(configs, k)]
    if info[0].get("task") != info[1].get("task"):
        differ.insert(0, {"key": "task", "A": info[0].get("task"), "B": info[1].get("task")})
    lines += ["", "settings that differ:" if differ else "settings: the same"]
    if differ:
        lines.append(_indent(table(differ, ["key", "A", "B"])))
    lines += ["", "results:"]
    results = [m.get("results") or {} for m in metrics]
    rows = []
    for label, get in (
        ("metric", lambda r: r.get("metric")),
        ("split", lambda r: r.get("split")),
        ("model", lambda r: r.get("model")),
    ):
        rows.append({"key": label, "A": get(results[0]), "B": get(results[1])})
    baselines = list(dict.fromkeys([*results[0].get("baselines", {}), *results[1].get("baselines", {})]))
    rows += [
        {
            "key": f"baseline: {n}",
            "A": results[0].get("baselines", {}).get(n),
            "B": results[1].get("baselines", {}).get(n),
        }
        for n in baselines
    ]
    rows.append(
        {
            "key": "best val_loss",
            "A": best_loss(metrics[0].get("epochs") or []),
            "B": best_loss(metrics[1].get("epochs") or []),
        }
    )
    rows.append({"key": "epochs", "A": len(metrics[0].get("epochs") or []), "B": len(metrics[1].get("epochs") or [])})
    rows.append({"key": "time (s)", "A": info[0].get("train_seconds"), "B": info[1].get("train_seconds")})
    lines.append(_indent(table(rows, ["key", "A", "B"])))
    epochs = [m.get("epochs") or [] for m in metrics]
    if any(epochs):
        lines += ["", "per epoch:"]
        per_epoch = []
        for i in range(max(len(e) for e in epochs)):
            row: dict = {"epoch": i + 1}
            for key in ("loss", "val_loss"):
                for side, rows_of in zip("AB", epochs, strict=True):
                    row[f"{key} {side}"] = rows_of[i].get(key) if i < len(rows_of) else None
            per_epoch.append(row)
        lines.append(_indent(table(per_epoch, list(per_epoch[0]))))
    return "\n".join(lines)


def plot(runs: list[Run], root: Path, path: Path) -> Path | None:
    """The runs' loss curves overlaid in one PNG; None without matplotlib."""
    curves = {}
    for run in runs:
        try:
            epochs = run.read_metrics().get("epochs") or []
        except RunError:
            continue
        if epochs:
            curves[_label(run, root)] = epochs
    if not curves:
        raise CliError(f"--plot {path}: none of the runs has finished an epoch; hint: train one first")
    return plots.loss_overlay(curves, path, title=f"loss of {len(curves)} run(s)")


def _label(run: Run, root: Path) -> str:
    """A run's name: its path under ``root``, else its folder's name."""
    try:
        inside = run.path.relative_to(root)
    except ValueError:
        return run.path.name
    return inside.as_posix() if inside.parts else run.path.name


def _differs(configs: list[dict], key: str) -> bool:
    return configs[0].get(key, _ABSENT) != configs[1].get(key, _ABSENT)


_ABSENT = object()


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: object) -> str:
    if value is None or value is _ABSENT:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _open(root: Path, name: str) -> Run:
    """A run given as a path, or by its name under FOLDER."""
    path = Path(name)
    if not path.exists() and (root / name).exists():
        path = root / name
    return Run.open(path)


def add_arguments(parser) -> None:
    parser.add_argument(
        "folder", nargs="?", default="runs", metavar="FOLDER", help="where the runs are (default: runs)"
    )
    parser.add_argument(
        "--sort",
        default="created",
        metavar="COLUMN",
        help=f"order by a column ({', '.join(COLUMNS)}; default: created)",
    )
    parser.add_argument("--reverse", action="store_true", help="in descending order")
    parser.add_argument(
        "--compare",
        nargs=2,
        default=None,
        metavar=("A", "B"),
        help="two runs (paths, or names under FOLDER) side by side",
    )
    parser.add_argument(
        "--plot",
        default=None,
        metavar="FILE.png",
        help="draw the loss curves of the runs (or the two compared) in one PNG",
    )


def run(args) -> int:
    console = Console(args.quiet)
    root = Path(args.folder)
    if args.sort not in COLUMNS:
        hint = did_you_mean(args.sort, COLUMNS)
        raise UsageError(f"--sort: expected a column, one of {', '.join(COLUMNS)}; got {args.sort!r}{hint}")
    if args.plot is not None and not plots.available():
        raise CliError(f"--plot {args.plot}: needs matplotlib; hint: pip install 'rnnkit[plot]'")
    if args.compare:
        pair = [_open(root, name) for name in args.compare]
        console.result(compare(*pair))
        shown = pair
    else:
        shown = find_runs(root)
        if not shown:
            console.note(f"no runs under {root}; hint: 'rnnkit train TASK' writes one there")
            return EXIT_OK
        rows = sort_rows([run_row(r, root) for r in shown], args.sort, args.reverse)
        console.result(table(rows))
    if args.plot is not None:
        written = plot(shown, root, Path(args.plot))
        console.note(f"wrote {written}")
    return EXIT_OK


COMMAND = Command(
    name="runs",
    help="list the runs in a folder, compare two, plot their losses",
    description=(
        "List the run folders under FOLDER (default: runs) with their task, data, key settings, "
        "status, best validation loss, score and training time; or compare two runs: the "
        "settings that differ, their scores and losses side by side."
    ),
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit runs",
        "rnnkit runs runs/ --sort score --reverse",
        "rnnkit runs --compare runs/classify-1 runs/classify-2",
        "rnnkit runs runs/ --plot losses.png",
    ),
)
