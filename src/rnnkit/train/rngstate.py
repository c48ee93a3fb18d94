"""Random generator states as JSON: what a checkpoint's metadata holds for each generator.

:func:`rng_state` and :func:`set_rng_state` (also importable from
:mod:`rnnkit.train.checkpoint`) round-trip every NumPy bit generator exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["rng_state", "set_rng_state"]


# -- random generators -------------------------------------------------------------------
def rng_state(gen: np.random.Generator) -> dict:
    """The exact state of ``gen`` as a JSON-able dict (arrays become lists of ints).

    ``set_rng_state(g, rng_state(gen))`` makes ``g`` produce the same numbers as ``gen``
    from this point on, for every NumPy bit generator (PCG64, MT19937, Philox, SFC64, ...).
    """
    bit_gen = _bit_generator(gen, "gen")
    return _to_json(bit_gen.state)


def set_rng_state(gen: np.random.Generator, state: Mapping) -> None:
    """Restore a state from :func:`rng_state` into ``gen`` (same bit generator type)."""
    bit_gen = _bit_generator(gen, "gen")
    if not isinstance(state, Mapping) or "bit_generator" not in state:
        raise TypeError(
            f"state: expected a dict from rng_state(), got {type(state).__name__}; "
            "hint: save rng_state(gen) in the checkpoint's meta"
        )
    kind = type(bit_gen).__name__
    if state["bit_generator"] != kind:
        raise ValueError(
            f"state: saved from a {state['bit_generator']} generator, but gen uses {kind}; "
            f"hint: build gen as numpy.random.Generator(numpy.random.{state['bit_generator']}())"
        )
    bit_gen.state = _from_json(state, bit_gen.state)


def _bit_generator(gen: np.random.Generator | np.random.BitGenerator, arg: str) -> np.random.BitGenerator:
    if isinstance(gen, np.random.Generator):
        return gen.bit_generator
    if isinstance(gen, np.random.BitGenerator):
        return gen
    raise TypeError(
        f"{arg}: expected a numpy.random.Generator, got {type(gen).__name__}; hint: numpy.random.default_rng(seed)"
    )


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()  # unsigned ints become exact Python ints
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_json(value: Any, template: Any) -> Any:
    """Rebuild NumPy arrays wherever the generator's own state has one."""
    if isinstance(template, dict) and isinstance(value, Mapping):
        return {k: _from_json(v, template.get(k)) for k, v in value.items()}
    if isinstance(template, np.ndarray):
        return np.asarray(value, dtype=template.dtype)
    return value
