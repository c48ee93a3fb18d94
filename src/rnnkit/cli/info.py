"""``rnnkit info RUN``: a model's architecture, parameter count and training history."""

from __future__ import annotations

from ._base import EXIT_OK, Command, Console, examples
from .tasks import TASKS, open_model


def module_tree(module, name: str = "", indent: int = 0) -> list[str]:
    """``name: Class(args)  [n params]`` per module, children indented under parents."""
    own = sum(p.size for p in getattr(module, "_params", {}).values())
    label = f"{name}: " if name else ""
    lines = [f"{'  ' * indent}{label}{module!r}" + (f"  [{own:,} parameters]" if own else "")]
    for child_name, child in getattr(module, "_children", {}).items():
        lines += module_tree(child, child_name, indent + 1)
    return lines


def describe(model, run=None, task: str = "") -> str:
    """The text ``rnnkit info`` prints."""
    net = model.net_
    lines = [f"model: {type(model).__name__}" + (f" (task {task})" if task else "")]
    params = model.get_params(deep=False)
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "verbose")
    lines += ["hyper-parameters: " + shown, "", "architecture:"]
    lines += ["  " + line for line in module_tree(net)]
    lines += ["", f"parameters: {net.num_parameters():,}"]
    for name, p, _ in net.named_parameters():
        lines.append(f"  {name:<32} {str(p.shape):<14} {p.size:>10,}  {p.dtype}")
    fitted = _fitted_summary(model)
    if fitted:
        lines += ["", "fitted: " + fitted]
    if run is not None:
        lines += ["", *_history(run)]
    return "\n".join(lines)


def _fitted_summary(model) -> str:
    parts = []
    classes = getattr(model, "classes_", None)
    if classes is not None:
        values = [str(c) for c in list(classes)]
        more = f" ... ({len(values)} in all)" if len(values) > 12 else ""
        parts.append(f"classes {values[:12]}{more}")
    for attr, label in (
        ("vocab_", "vocabulary"),
        ("src_vocab_", "source vocabulary"),
        ("tgt_vocab_", "target vocabulary"),
    ):
        vocab = getattr(model, attr, None)
        if vocab is not None:
            parts.append(f"{label} {len(vocab)} tokens")
    n_features = getattr(model, "n_features_in_", None)
    if n_features:
        parts.append(f"{n_features} input feature(s)")
    return "; ".join(parts)


def _history(run) -> list[str]:
    metrics = run.read_metrics()
    epochs = metrics.get("epochs", [])
    info = run.info()
    lines = [f"run: {run.path}  (created {info.get('created')}, status {info.get('status')})"]
    if epochs:
        last = epochs[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if isinstance(v, float) and k not in ("time", "lr"))
        lines.append(f"training: {len(epochs)} epoch(s); last: {shown}")
        losses = [(e.get("epoch"), e.get("val_loss", e.get("loss"))) for e in epochs]
        losses = [(ep, v) for ep, v in losses if v is not None]
        if losses:
            key = "val_loss" if any("val_loss" in e for e in epochs) else "loss"
            ep, best = min(losses, key=lambda item: item[1])
            lines.append(f"best {key}: {best:.4g} at epoch {ep}")
    results = metrics.get("results", {})
    if "train_seconds" in results:
        lines.append(f"training time: {results['train_seconds']} s")
    summary = run.path / "summary.txt"
    if summary.is_file():
        # The result table: its heading and one row per model and baseline (up to a blank line).
        head, *rows = summary.read_text(encoding="utf-8").strip().split("\n\n")[0].split("\n")
        lines += ["result: " + head, *("  " + row for row in rows)]
    stop = info.get("stop")
    if isinstance(stop, dict):
        batch = f", batch {stop['batch']}" if stop.get("batch") is not None else ""  # none: at the evaluation
        lines.append(
            f"stopped at step {stop.get('step')} (epoch {stop.get('epoch')}{batch}): "
            f"{stop.get('reason')}; the saved weights are those after step {stop.get('good_step')}"
            + _resumable(stop.get("resumable"))
        )
    return lines


def _resumable(flag) -> str:
    """Whether the stop's weights may be continued from (runs saved before the record said so: nothing)."""
    if flag is None:
        return ""
    return " (--resume can continue from them)" if flag else " (not sane to continue from: start again)"


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder or a model .npz file")


def run(args) -> int:
    model, run_folder, task = open_model(args.run, tuple(TASKS), "rnnkit info")
    Console(args.quiet).result(describe(model, run_folder, task))
    return EXIT_OK


COMMAND = Command(
    name="info",
    help="show a model's architecture, parameter count and training history",
    add_arguments=add_arguments,
    run=run,
    epilog=examples("rnnkit info runs/charlm-<stamp>", "rnnkit info runs/tag-<stamp>/model.npz"),
)
