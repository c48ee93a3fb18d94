"""Typed run configurations: TOML presets that ship with the package, files, overrides.

A configuration is a dataclass per task (its ``config_class``, most defined in ``task_configs``).
It is resolved in layers, each overriding the one before::

    dataclass defaults  <  preset (presets/<task>.toml, table [<preset>])
                        <  --config FILE.toml  <  --key value flags and --set key=value

Every value is type-checked against the field's annotation (``int``, ``float``, ``str``,
``bool``, ``X | None``, ``tuple[int, ...]``), and against the field's ``choices``,
``min`` (exclusive with ``above``) and ``max`` metadata; an unknown key is refused with the list of valid ones. In
text (``--set`` and flags) ``none`` means None, booleans are ``true``/``false`` and tuples
are comma-separated (``--set period=24,168``).

The resolved configuration is saved with a run as ``config.toml`` (readable, and
loadable again with ``--config``) and ``config.json`` (exact, used by ``--resume``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path

from ..train.regularizers import MODEL_REGULARIZERS, REGULARIZERS
from ..train.settings import model_defaults, settings_for
from ..utils import files
from ..utils.toml_text import toml_value

PRESET_META_KEYS = ("description",)  # allowed in a preset table, not config fields


class ConfigError(ValueError):
    """A configuration key or value is invalid; the message lists what is valid."""


def did_you_mean(word: str, options) -> str:
    """``"; did you mean 'x'?"`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- fields ------------------------------------------------------------------------------
def option(default, help: str, *, choices=None, min=None, max=None, above=False, group: str = "model"):
    """A config field with its help text and constraints (``above``: ``min`` is exclusive).

    ``group`` says where the key goes: "model" keys are hyper-parameters of the model's
    constructor, "run" keys configure the run, "data" keys say what to read.
    """
    meta = {"help": help, "choices": choices, "min": min, "max": max, "above": above, "group": group}
    if isinstance(default, (list, dict)):
        raise TypeError("option: use a tuple for a sequence default")
    return dataclasses.field(default=default, metadata=meta)


def training_keys(model: str | None = None, **help: str):
    """Class decorator, under ``@dataclasses.dataclass``: the config gets a key for every
    training setting the command line offers (:mod:`rnnkit.train.settings`), its type, help,
    checks and group from the declaration and its default that of the model class named
    ``model`` (``model_defaults(model)``, read without importing the models; the declared
    ones without a model), and a key for every regularizer that model honours
    (:mod:`rnnkit.train.regularizers`). ``help`` replaces a key's help text for this task
    (``batch_size="windows per batch"``)."""
    defaults = model_defaults(model) if model is not None else {}

    def add(cls):
        annotations = cls.__dict__.get("__annotations__")
        if annotations is None:
            annotations = cls.__annotations__ = {}
        for s in settings_for("cli"):
            annotations[s.name] = s.cli_type or s.type
            default = s.command_line_default(defaults[s.name]) if s.name in defaults else s.command_line_default()
            # choices: the declaration's own (a registry is read live, as the cells are)
            field = option(default, help.get(s.name, s.help), choices=s.choices, min=s.min, above=s.above)
            field.metadata = types.MappingProxyType({**field.metadata, "group": s.cli_group, "setting": s.name})
            setattr(cls, s.name, field)
        for name in MODEL_REGULARIZERS.get(model, ()) if model is not None else ():
            r = REGULARIZERS[name]
            annotations[name] = r.type
            bounds = dict(min=0.0, max=0.95 if r.probability else None) if r.type is float else {}
            setattr(cls, name, option(r.default, f"{r.help} (AWD-LSTM's {r.awd})", **bounds))
        return cls

    return add


def fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _types(cls) -> dict[str, object]:
    return typing.get_type_hints(cls)


def keys_in_group(cls, group: str) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("group") == group]


# -- values ------------------------------------------------------------------------------
def _split_optional(tp):
    """``X | None`` -> (X, True); ``X`` -> (X, False)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def type_name(tp) -> str:
    base, optional = _split_optional(tp)
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)[0]
        name = f"comma-separated {inner.__name__}s"
    else:
        name = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(base, str(base))
    return name + (" or none" if optional else "")


def coerce(cls, key: str, value, source: str = "config"):
    """Check ``value`` (from TOML/JSON, or text from the command line) for field ``key``.

    Text is parsed by the field's type; typed values must already have the right type
    (an int is accepted for a float field). Returns the value to store.
    """
    key = _known_key(cls, key, source)
    tp = _types(cls)[key]
    field = fields(cls)[key]
    base, optional = _split_optional(tp)
    # A command-line source already names the key ("--set lr", "--lr"); a file does not.
    named = source.rsplit(" ", 1)[-1].lstrip("-").replace("-", "_") == key
    where = source if named else f"{source}: {key}"
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null"))):
        return None
    try:
        out = _coerce_base(base, value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {type_name(tp)}, got {value!r}") from None
    _check_constraints(where, out, field.metadata)
    return out


def _coerce_base(base, value):
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)[0]
        items = [v for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise TypeError
        return tuple(_coerce_base(inner, v) for v in items)
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"):
            return False
        raise TypeError
    if base is int:
        if isinstance(value, str):
            return int(value.strip().replace("_", ""))
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError
        return int(value)
    if base is float:
        if isinstance(value, str):
            out = float(value.strip())
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError
        else:
            out = float(value)
        if not math.isfinite(out):
            raise ValueError
        return out
    if base is str:
        if not isinstance(value, str):
            raise TypeError
        return value
    raise TypeError(f"unsupported config type {base!r}")  # a programming error


def _check_constraints(where: str, value, meta) -> None:
    items = value if isinstance(value, tuple) else (value,)
    choices = meta.get("choices")
    for item in items:
        if choices is not None and item not in choices:
            raise ConfigError(
                f"{where}: expected one of {', '.join(map(str, choices))}; "
                f"got {item!r}{did_you_mean(str(item), map(str, choices))}"
            )
        if meta.get("min") is not None and (item < meta["min"] or (meta.get("above") and item == meta["min"])):
            raise ConfigError(
                f"{where}: expected a value {'>' if meta.get('above') else '>='} {meta['min']}, got {item}"
            )
        if meta.get("max") is not None and item > meta["max"]:
            raise ConfigError(f"{where}: expected a value <= {meta['max']}, got {item}")


def _known_key(cls, key: str, source: str) -> str:
    name = key.strip().replace("-", "_")
    valid = list(fields(cls))
    if name not in valid:
        raise ConfigError(f"{source}: unknown key {key!r}{did_you_mean(name, valid)}; valid keys: {', '.join(valid)}")
    return name


# -- presets and files -------------------------------------------------------------------
def preset_names(task: str) -> list[str]:
    return list(_preset_tables(task))


def _preset_tables(task: str) -> dict[str, dict]:
    ref = resources.files("rnnkit") / "presets" / f"{task}.toml"
    if not ref.is_file():
        return {}
    tables = tomllib.loads(ref.read_text(encoding="utf-8"))
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def preset(task: str, name: str) -> dict:
    """The keys of preset ``name`` for ``task`` (without its description)."""
    tables = _preset_tables(task)
    if name not in tables:
        raise ConfigError(
            f"preset: {task} has no preset {name!r}{did_you_mean(name, tables)}; "
            f"available: {', '.join(tables) or 'none'}"
        )
    return {k: v for k, v in tables[name].items() if k not in PRESET_META_KEYS}


def preset_description(task: str, name: str) -> str:
    return str(_preset_tables(task).get(name, {}).get("description", ""))


def read_config_file(path) -> dict:
    """A flat TOML file of ``key = value`` lines (a saved run's config.toml works)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"--config: file not found: {path}")
    try:
        raw = files.read_regular_bytes(path, what="a TOML config file", max_bytes=files.MAX_CONFIG_BYTES)
        data = tomllib.loads(raw.decode("utf-8"))
    except files.FileRefusedError as exc:
        raise ConfigError(f"--config {exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: not valid TOML ({exc})") from None
    nested = [k for k, v in data.items() if isinstance(v, dict)]
    if nested:
        raise ConfigError(
            f"--config {path}: expected flat 'key = value' lines, got tables "
            f"{nested}; hint: presets with tables ship inside rnnkit/presets"
        )
    return data


# -- resolution --------------------------------------------------------------------------
def resolve(cls, task: str, *, preset_name: str | None = None, base: dict | None = None, files=(), overrides=()):
    """Build a config of class ``cls`` from the layers described in the module docstring.

    Args:
        base: values that replace the defaults first (a saved run's config, for resume).
        files: paths of flat TOML files, applied in order.
        overrides: ``(key, value, source)`` triples applied last, in order.
    """
    values = {}

    def apply(mapping, source):
        for key, value in mapping.items():
            if key == "task":
                if value != task:
                    raise ConfigError(f"{source}: written for task {value!r}, not {task!r}")
                continue
            name = _known_key(cls, key, source)
            values[name] = coerce(cls, name, value, source)

    if base:
        apply(base, "saved run config")
    if preset_name is not None:
        apply(preset(task, preset_name), f"preset {task}/{preset_name}")
    for path in files:
        apply(read_config_file(path), f"--config {path}")
    for key, value, source in overrides:
        apply({key: value}, source)
    config = cls(**values)
    check = getattr(config, "validate", None)
    if check is not None:
        check()
    return config


def parse_assignment(text: str) -> tuple[str, str]:
    """``"key=value"`` -> (key, value) for ``--set``."""
    if "=" not in text:
        raise ConfigError(f"--set: expected key=value, got {text!r}; hint: --set hidden_size=128")
    key, value = text.split("=", 1)
    return key.strip(), value


# -- saving ------------------------------------------------------------------------------
def to_dict(config) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()}


def from_dict(cls, task: str, data: dict):
    return resolve(cls, task, base=data)


def to_toml(config, task: str, header: str = "") -> str:
    """A flat TOML document of every key, with its help as a comment; None is ``"none"``."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append(f'task = "{task}"')
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        lines.append(f"{f.name} = {toml_value(value)}  # {f.metadata.get('help', '')}".rstrip())
    return "\n".join(lines) + "\n"
