"""``rnnkit tune forecast --data FILE``: search a forecaster's settings by rolling-origin backtest.

The data are read exactly as ``rnnkit train forecast`` reads them (the same keys and flags:
``--value-column``, ``--id-column``, covariates, ``--test-fraction``, ...), and the part each
series holds out for testing is left out: the search scores only the training part (with
its validation part), by the pooled MASE of rolling-origin forecasts over its last origins,
in ``--folds`` blocks, each scored by one fit. Window, hidden size, cell, lr, target
transform and scaling are searched (``rnnkit.forecast.tune``), with Optuna when it is
installed (``pip install "rnnkit[tune]"``), else by a seeded random search; a trial worse
than the median of the completed ones after a fold is pruned. The first trial is the
settings training would use. The best of many noisy scores is partly luck, so the
``--confirm`` best trials and that first one are scored again with fresh seeds, and
the settings training would use are kept unless one beats them there by more than
``--margin`` standard errors (``--holdout``: there on the last fold alone, which
the search then leaves out). A searched key given (``--cell gru``, ``--set window=24``)
is kept fixed.
Trials train one network each (``--ensemble`` to change) and stop early by
``--patience``. The best settings are printed as a TOML config and, with ``--out``,
written as one that ``rnnkit train forecast --config FILE`` takes.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import TYPE_CHECKING, cast

from . import options as cfg
from ._base import EXIT_OK, CliError, Command, Console, Parser, UsageError, add_common_flags, examples, fill
from .task_configs import ForecastConfig
from .tasks import TASKS
from .tasks.forecast_data import held_out_share
from .train import _PREFIX, add_config_flags

if TYPE_CHECKING:
    from .tasks.forecast import ForecastTask

BACKENDS = ("auto", "optuna", "random")
SEARCHED = ("window", "hidden_size", "cell", "lr", "target_transform", "scaling")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="task", metavar="TASK", parser_class=Parser)
    p = sub.add_parser(
        "forecast",
        help="search a forecaster's settings on your series",
        description=fill(__doc__.split("\n\n", 1)[1]),
        epilog=examples(
            "rnnkit tune forecast --data sales.csv --horizon 12 --trials 30 --out best.toml",
            "rnnkit train forecast --config best.toml",
            "rnnkit tune forecast --data stores.csv --id-column store --timeout 600 --backend random",
            "rnnkit tune forecast --data sales.csv --cell gru    # a searched key given is kept fixed",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_flags(p)
    p.add_argument("--trials", type=int, default=20, metavar="N", help="settings to try at most (default: 20)")
    p.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="start no trial after this long (default: none)"
    )
    p.add_argument("--out", default=None, metavar="FILE.toml", help="write the best settings as a training config")
    p.add_argument(
        "--backend", default="auto", metavar="NAME", help="optuna, random, or auto: optuna when installed (default)"
    )
    p.add_argument("--folds", type=int, default=3, metavar="K", help="blocks of origins, one fit each (default: 3)")
    p.add_argument(
        "--origins",
        type=int,
        default=None,
        metavar="N",
        help="origins in all, the last of the training part (default: those of its last third, at most 60)",
    )
    p.add_argument(
        "--confirm",
        type=int,
        default=3,
        metavar="K",
        help="best trials scored again on fresh seeds with the defaults' trial before choosing (0: none; default: 3)",
    )
    p.add_argument(
        "--confirm-seeds", type=int, default=2, metavar="N", help="fresh seeds of that re-scoring (default: 2)"
    )
    p.add_argument(
        "--margin",
        type=float,
        default=1.0,
        metavar="SE",
        help="standard errors by which a trial must beat the defaults' trial when re-scored (default: 1)",
    )
    p.add_argument(
        "--holdout",
        action="store_true",
        help="leave the last fold out of the search; the re-scoring scores the best trials on it alone",
    )
    p.add_argument("--step", type=int, default=1, metavar="S", help="steps between origins (default: 1)")
    p.add_argument("--preset", default="default", metavar="NAME", help="the preset the settings start from")
    p.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="a TOML file of key = value")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one configuration key")
    add_config_flags(p, ForecastConfig, cfg.resolve(ForecastConfig, "forecast", preset_name="default"))


def _check_flags(args) -> None:
    if args.backend not in BACKENDS:
        raise UsageError(f"--backend: expected one of {', '.join(BACKENDS)}, got {args.backend!r}")
    checked = (
        ("--trials", args.trials, 1),
        ("--folds", args.folds, 1),
        ("--step", args.step, 1),
        ("--confirm", args.confirm, 0),
        ("--confirm-seeds", args.confirm_seeds, 1),
    )
    for flag, value, low in checked:
        if value < low:
            raise UsageError(f"{flag}: expected an integer >= {low}, got {value}")
    if args.origins is not None and args.origins < args.folds:
        raise UsageError(f"--origins: expected at least one origin per fold (--folds {args.folds}), got {args.origins}")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout: expected seconds > 0, got {args.timeout:g}")
    if not (math.isfinite(args.margin) and args.margin >= 0):
        raise UsageError(f"--margin: expected standard errors >= 0, got {args.margin:g}")


def _config(args):
    """The resolved configuration (as ``rnnkit train forecast`` resolves it) and the keys
    the command line or files set."""
    overrides = [
        (k[len(_PREFIX) :], v, "--" + k[len(_PREFIX) :].replace("_", "-"))
        for k, v in vars(args).items()
        if k.startswith(_PREFIX)
    ]
    for text in args.set:
        key, value = cfg.parse_assignment(text)
        overrides.append((key, value, f"--set {key}"))
    try:
        config = cfg.resolve(
            ForecastConfig, "forecast", preset_name=args.preset, files=args.config, overrides=overrides
        )
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    return config, {key for key, _, _ in overrides}


def _written_keys(config, given: set[str]) -> dict:
    """The keys of the config that a training run needs to read the same data the same way:
    the data file and every key that differs from the default preset (the searched ones,
    unless given and so fixed, and a trials-only ensemble left out)."""
    default = cfg.resolve(ForecastConfig, "forecast", preset_name="default")
    out = {"data": config.data}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        searched = f.name in SEARCHED and f.name not in given
        if searched or f.name in ("data", "horizon") or value == getattr(default, f.name):
            continue
        if f.name == "ensemble" and "ensemble" not in given:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def run(args) -> int:
    # rnnkit.forecast loads on use: start-up time (cli/__init__.py)
    from ..forecast.tune import tune

    if args.task is None:
        raise UsageError("tune: expected a task, one of forecast; see 'rnnkit tune --help'")
    _check_flags(args)
    console = Console(args.quiet)
    config, given = _config(args)
    if "ensemble" not in given:
        config = dataclasses.replace(config, ensemble=1)
    task = cast("ForecastTask", TASKS["forecast"])  # the registry's forecast task
    data = task.load(config)
    for note in data.notes or ():
        console.note(f"note: {note}")
    ex = data.extra
    model = task.build_model(config, data).set_params(validation_fraction=held_out_share(config))
    s, cov, starts = ex["set"], ex["cov"], ex["test_start"]
    cut = lambda arrs: None if arrs is None else [a[:t] for a, t in zip(arrs, starts, strict=True)]  # noqa: E731
    series = [x[:t] for x, t in zip(s.values, starts, strict=True)]
    horizon = ex["settings"]["horizon"]
    console.note(
        f"tuning on {config.data}: {len(series)} series, {sum(len(x) for x in series):,} steps before the test "
        f"part, horizon {horizon}, {args.trials} trial(s)"
    )

    def progress(t):
        where = f" after fold {len(t.fold_mase)}" if t.state == "pruned" else ""
        why = f": {t.message}" if t.message else ""
        console.note(f"  trial {t.number}: {t.state}{where}, MASE {t.mase:.4g} ({t.seconds:.1f} s){why}")

    fixed = [k for k in SEARCHED if k in given]
    if len(fixed) == len(SEARCHED):
        flags = ", ".join("--" + k.replace("_", "-") for k in SEARCHED)
        raise UsageError(f"{flags}: every searched key is given, leaving nothing to tune; hint: leave one out")
    try:
        result = tune(
            series,
            horizon,
            exclude=fixed,
            n_trials=args.trials,
            timeout=args.timeout,
            folds=args.folds,
            n_origins=args.origins,
            step=args.step,
            params=model.get_params(deep=False),
            past_covariates=cut(cov.past),
            future_covariates=cut(cov.future),
            static_covariates=cov.static,
            dates=cut(s.dates),
            seed=config.seed,
            backend=args.backend,
            progress=progress,
            confirm=args.confirm,
            confirm_seeds=args.confirm_seeds,
            margin=args.margin,
            holdout=args.holdout,
        )
    except ImportError as exc:
        raise CliError(f"--backend optuna: {exc}") from None
    best = result.best_trial
    console.result(result.table())
    if result.base_trial is not None:
        first = result.trials[result.base_trial]
        against = f"trial {first.number}, the settings training would use: {first.mase:.4g} ({first.state})"
    else:
        against = "the settings training would use lie outside the space (a window too long for the first fold)"
    console.result(
        f"best: trial {best.number}, MASE {best.mase:.4g} over {result.folds} fold(s) of the training part "
        f"({result.backend} search; {against})"
    )
    if result.confirmation is not None:
        console.result(result.confirmation.summary())
    extra = _written_keys(config, given)
    header = (
        f"rnnkit tune forecast: trial {best.number} of {len(result.trials)}, pooled MASE {best.mase:.4g}\n"
        + (f"{result.confirmation.summary()}\n" if result.confirmation is not None else "")
        + "train with: rnnkit train forecast --config THIS_FILE"
    )
    if args.out:
        result.to_toml(args.out, extra, header)
        console.result(f"wrote {args.out}; train with: rnnkit train forecast --config {args.out}")
    else:
        console.result("best settings (--out FILE.toml writes them as a config):")
        for k, v in {**extra, "horizon": horizon, **result.best_params}.items():
            console.result(f"  {k} = {v}")
    return EXIT_OK


COMMAND = Command(
    name="tune",
    help="search a forecaster's settings by rolling-origin backtest; writes the best as a config",
    description=__doc__.split("\n\n", 1)[1],
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit tune forecast --data sales.csv --horizon 12 --trials 30 --out best.toml",
        "rnnkit train forecast --config best.toml",
    ),
)
