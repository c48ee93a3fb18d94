"""Writing a value as TOML text: the one writer of the config files rnnkit produces (a run's
``config.toml``, ``rnnkit tune``'s best settings) and of the defaults ``--help`` shows."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["toml_value"]


def toml_value(value: Any) -> str:
    """``value`` as a TOML literal; None is the string ``"none"`` (what the readers take back)."""
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
