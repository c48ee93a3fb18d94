"""Batch work split across ranks: each rank computes its part, every rank gets the whole."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._world import World, _Items, world

__all__ = ["split_map", "RankSplit"]


def split_map(
    fn: Callable[[_Items], np.ndarray | list[Any]], items: _Items, w: World | None = None
) -> np.ndarray | list[Any]:
    """``fn(items)``, computed as ``fn`` of each rank's contiguous part of ``items``.

    ``fn`` returns one result per item: an array (rows) or a list. Every rank gets the
    whole result, in the order of ``items`` (one ``allgather``). A rank whose part is empty
    does not call ``fn``. Alone: ``fn(items)``.
    """
    w = world() if w is None else w
    if not w.active:
        return fn(items)
    part = w.shard(items)
    out = fn(part) if len(part) else None
    parts = [p for p in w.comm.allgather(out) if p is not None]
    if parts and isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [x for p in parts for x in p]


class RankSplit:
    """``obj`` with its per-item methods (``predict``, ``predict_proba``) split across ranks
    by :func:`split_map`; everything else is ``obj``'s own."""

    def __init__(
        self, obj: object, methods: Iterable[str] = ("predict", "predict_proba"), w: World | None = None
    ) -> None:
        self._obj, self._methods, self._w = obj, tuple(methods), world() if w is None else w

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if name in self._methods and callable(attr):
            return lambda items, **kw: split_map(lambda part: attr(part, **kw), items, self._w)
        return attr
