"""``rnnkit experiment NAME``: rerun an experiment on vanishing/exploding gradients."""

from __future__ import annotations

from ..experiments import EXPERIMENTS, describe, get_config, run_experiment
from ._base import CliError, Command, Console, UsageError, examples
from .options import did_you_mean


def add_arguments(parser) -> None:
    parser.add_argument(
        "name", nargs="?", metavar="NAME", help=f"the experiment: {', '.join(EXPERIMENTS)} (omit with --list)"
    )
    parser.add_argument("--list", action="store_true", help="list the experiments and their settings")
    parser.add_argument(
        "--out",
        default="experiments",
        metavar="DIR",
        help="where the result folder <DIR>/<NAME>/ goes [default: experiments]",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: a run in seconds, to check that everything works"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting (repeatable); tuples as comma lists: --set scales=0.5,1,2",
    )
    parser.add_argument("--no-plots", action="store_true", help="write the tables only")


def _overrides(items) -> dict:
    out = {}
    for text in items:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set: expected KEY=VALUE, got {text!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def run(args) -> int:
    console = Console(args.quiet)
    if args.list or args.name is None:
        if args.name is None and not args.list:
            raise UsageError(
                f"experiment: expected a NAME, one of {', '.join(EXPERIMENTS)}; see 'rnnkit experiment --list'"
            )
        for name in EXPERIMENTS:
            d = describe(name)
            console.result(f"{name:<15} {d['title']}")
            console.result("                settings: " + ", ".join(f"{k}={v}" for k, v in d["settings"].items()))
        return 0
    if args.name not in EXPERIMENTS:
        raise UsageError(
            f"experiment: unknown name {args.name!r}; expected one of {', '.join(EXPERIMENTS)}"
            + did_you_mean(args.name, EXPERIMENTS)
        )
    overrides = _overrides(args.set)
    try:
        cfg = get_config(args.name, smoke=args.smoke, overrides=overrides)
    except ValueError as exc:
        raise UsageError(f"--set {exc}") from None
    console.note(f"running {args.name}" + (" (smoke sizes)" if args.smoke else "") + f": {cfg}")
    result = run_experiment(
        args.name, args.out, smoke=args.smoke, overrides=overrides, plots=False if args.no_plots else None
    )
    console.result(result.table())
    for note in result.notes:
        console.result(note + "\n")
    console.note(
        f"wrote {result.folder}/ (table.md, table.csv, results.json"
        + (", " + ", ".join(result.plots) if result.plots else "")
        + f") in {result.seconds:.1f}s"
    )
    if not result.rows:
        raise CliError(f"experiment {args.name}: produced no results")
    return 0


COMMAND = Command(
    name="experiment",
    help="rerun an experiment: vanishing/exploding gradients, regularization (plots + a table)",
    description="Rerun an experiment on vanishing and exploding gradients or on regularization; each writes plots, "
    "table.md/table.csv and results.json to <out>/<name>/.",
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit experiment --list",
        "rnnkit experiment weight-scaling                 # W_hh = s x orthogonal, s = 0.5 .. 2",
        "rnnkit experiment cells-adding --set lengths=50,100 --set epochs=20",
        "rnnkit experiment init --out results/",
        "rnnkit experiment neuron --smoke                 # seconds",
        "rnnkit experiment regularization --set epochs=3  # each AWD-LSTM regularizer on/off",
    ),
)
