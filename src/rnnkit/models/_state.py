"""The fitted state a model saves as JSON, and the check that a file's state is one the
model itself would have written (an edited manifest is refused, naming the first difference)."""

from __future__ import annotations

import numpy as np

__all__ = ["jsonable", "jsonable_tree", "first_difference"]


def jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    return value


def jsonable_tree(value):
    if isinstance(value, dict):
        return {k: jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable_tree(v) for v in value]
    return jsonable(value)


def first_difference(expected, got, where: str) -> str | None:
    """Where the saved fitted state ``got`` differs from what loading it rebuilt: a missing or
    unexpected key, or a value the model does not keep (so the file was edited)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        if missing:
            return f"missing key {where + '.' + str(missing[0])!r}"
        if extra:
            return f"unexpected key {where + '.' + str(extra[0])!r}"
        for k in expected:
            diff = first_difference(expected[k], got[k], f"{where}.{k}")
            if diff:
                return diff
        return None
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (a, b) in enumerate(zip(expected, got, strict=False)):
            diff = first_difference(a, b, f"{where}[{i}]")
            if diff:
                return diff
        return None
    if type(expected) is type(got) and (expected == got or expected != expected and got != got):
        return None
    return f"{where} holds {got!r:.60}, which does not describe a fitted model"
