"""``rnnkit train TASK``: resolve the configuration, train, write the run folder."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from ..utils.toml_text import toml_value
from . import options as cfg
from ._base import CliError, Command, Console, Parser, UsageError, add_common_flags, examples, fill
from .runs import Run
from .tasks import RESUMABLE, TASKS, train

_PREFIX = "cfg__"


def _metavar(tp) -> str:
    base, _ = cfg._split_optional(tp)
    if typing.get_origin(base) is tuple:
        return "N,N,..."
    return {int: "INT", float: "FLOAT", str: "TEXT"}.get(base, "VALUE")


def add_config_flags(parser, cls, defaults=None, *, keys=None, group=None) -> None:
    """A ``--key value`` flag per configuration key (``--flag/--no-flag`` for booleans).

    ``defaults`` (a config) supplies the defaults shown in the help: the default preset's.
    ``keys``: only these keys (default: all); ``group``: the argument group to add them to
    (another verb reusing some of a task's keys; read them back with :func:`flag_overrides`).
    """
    if group is None:
        group = parser.add_argument_group(
            "configuration keys",
            fill(
                "each also settable with --set KEY=VALUE or in a --config "
                "file; the defaults shown are those of the default preset"
            ),
        )
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if keys is not None and f.name not in keys:
            continue
        default = getattr(defaults, f.name) if defaults is not None else f.default
        flag = "--" + f.name.replace("_", "-")
        base, _ = cfg._split_optional(hints[f.name])
        choices = f.metadata.get("choices")
        text = f.metadata.get("help", "")
        if choices:
            text += f" ({', '.join(map(str, choices))})"
        text += f" [default: {toml_value(default).strip(chr(34))}]"
        text = text.replace("%", "%%")  # argparse formats help with %: strftime codes show as typed
        if base is bool:
            group.add_argument(
                flag, dest=_PREFIX + f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text
            )
        else:
            group.add_argument(
                flag,
                dest=_PREFIX + f.name,
                metavar="NAME" if choices else _metavar(hints[f.name]),
                default=argparse.SUPPRESS,
                help=text,
            )


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="task", metavar="TASK", parser_class=Parser)
    for name, task in TASKS.items():
        presets = cfg.preset_names(name)
        p = sub.add_parser(
            name,
            help=task.help,
            description=task.help,
            epilog=examples(*task.examples) + _preset_text(name, presets),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_common_flags(p)
        p.add_argument(
            "--preset",
            default=None,
            metavar="NAME",
            help=f"a preset shipped with rnnkit ({', '.join(presets) or 'none'}); "
            "default: 'default' (none when resuming)",
        )
        p.add_argument(
            "--config",
            action="append",
            default=[],
            metavar="FILE.toml",
            help="a TOML file of key = value lines (e.g. a run's config.toml)",
        )
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override one configuration key (repeatable)",
        )
        p.add_argument(
            "--out", default=None, metavar="DIR", help="the run folder to create (default: runs/<task>-<date>-<time>)"
        )
        p.add_argument(
            "--resume", default=None, metavar="RUN", help="continue training a run folder (more epochs: --epochs N)"
        )
        p.add_argument("--no-plots", action="store_true", help="do not draw PNG plots")
        defaults = cfg.resolve(task.config_class, name, preset_name="default") if "default" in presets else None
        add_config_flags(p, task.config_class, defaults)


def _preset_text(task: str, presets) -> str:
    if not presets:
        return ""
    lines = [f"  {name:<9}{cfg.preset_description(task, name)}" for name in presets]
    return "\n\npresets:\n" + "\n".join(lines)


def flag_overrides(args) -> list:
    """``[(key, value, flag)]`` of the configuration flags given (:func:`add_config_flags`)."""
    return [
        (k[len(_PREFIX) :], v, "--" + k[len(_PREFIX) :].replace("_", "-"))
        for k, v in vars(args).items()
        if k.startswith(_PREFIX)
    ]


def resolve_config(args):
    """The configuration from the command line: see :func:`rnnkit.cli.options.resolve`."""
    task = TASKS[args.task]
    overrides = flag_overrides(args)
    for text in args.set:
        key, value = cfg.parse_assignment(text)
        overrides.append((key, value, f"--set {key}"))
    base, preset = None, args.preset
    if args.resume is not None:
        base = Run.open(args.resume, tasks=(args.task,), command=f"rnnkit train {args.task}").read_config()
    elif preset is None:
        preset = "default" if "default" in cfg.preset_names(args.task) else None
    config = cfg.resolve(
        task.config_class, args.task, preset_name=preset, base=base, files=args.config, overrides=overrides
    )
    if base is not None:
        _check_resumable(task.config_class, args.task, base, config)
    return config


def _check_resumable(cls, task, saved: dict, config) -> None:
    """A resumed run keeps its data and architecture; training keys may change."""
    saved_config = cfg.from_dict(cls, task, saved)
    changed = [
        f.name
        for f in dataclasses.fields(cls)
        if getattr(config, f.name) != getattr(saved_config, f.name)
        and f.name not in RESUMABLE
        and f.metadata.get("group") != "run"
    ]
    if changed:
        raise cfg.ConfigError(
            f"--resume: cannot change {', '.join(changed)} of a run (its data and architecture "
            f"stay); resumable keys: {', '.join(RESUMABLE)}; hint: start a new run to change them"
        )


def run(args) -> int:
    if args.task is None:
        raise UsageError(f"train: expected a task, one of {', '.join(TASKS)}; see 'rnnkit train --help'")
    try:
        config = resolve_config(args)
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    console = Console(args.quiet)
    run_folder = None
    if args.resume is not None:
        if args.out is not None:
            raise UsageError("--out and --resume: a resumed run stays in its own folder; pass one")
        run_folder = Run.open(args.resume, tasks=(args.task,))
        if not run_folder.model_path.is_file() and not run_folder.trainer_path.is_file():
            raise CliError(
                f"--resume {args.resume}: the run has no trainer.npz or model.npz to "
                f"continue from; hint: start it again with 'rnnkit train {args.task} --config "
                f"{run_folder.path / 'config.toml'}'"
            )
    train(
        args.task,
        config,
        out=args.out,
        run=run_folder,
        resume=args.resume is not None,
        console=console,
        plots=not args.no_plots,
    )
    return 0


COMMAND = Command(
    name="train",
    help="train a model on shipped, generated or your own data; writes a run folder",
    description=(
        "Train a model for TASK and write a run folder with the model, the resolved "
        "configuration, metrics (CSV and JSON), a summary beside a baseline and plots."
    ),
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit train charlm --preset quick",
        "rnnkit train forecast --data mackey-glass --epochs 20",
        "rnnkit train classify --data my.ts --set hidden_size=128 --set cell=gru",
        "rnnkit train tag --preset tiny --out runs/smoke",
        "rnnkit train charlm --resume runs/charlm-<stamp> --epochs 2",
        "rnnkit train TASK --help      # every key of a task, and its presets",
    ),
)
