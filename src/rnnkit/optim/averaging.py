r"""Averages of a model's parameters: the copy that validation evaluates and fit keeps.

:class:`RunningAverage` is ASGD's average (``torch.optim.ASGD`` with ``lambd=0``, or
``torch.optim.swa_utils.AveragedModel`` with its default equal weights): after the k-th
update since :meth:`RunningAverage.start`,

.. math::
    \bar\theta_k = \bar\theta_{k-1} + (\theta_k - \bar\theta_{k-1}) / k
    = \frac{1}{k} \sum_{j=1}^{k} \theta_j .

The average holds one array per parameter, by the parameter's name, beside the live
parameters (the iterate the optimizer keeps training). :meth:`swap` exchanges the two in
place, so the model can be evaluated or saved holding the average and then go on training
from the iterate; swapping twice restores both. Under ``mpiexec`` every rank holds the same
parameters after each step, so every rank's average is the same without any communication.

Another average (an exponential moving average, say) is a subclass overriding
:meth:`RunningAverage._blend`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .optimizer import ParamsLike, _collect_params

__all__ = ["RunningAverage"]


class RunningAverage:
    """The running mean of the parameters after each :meth:`update` since :meth:`start`.

    Args:
        params: a Module (anything with ``named_parameters()``) or ``(name, param, grad)``
            triples; the live arrays are held, as an optimizer holds them.

    Attributes: ``count`` (updates averaged), ``swapped`` (the model holds the average and
    :attr:`average` the iterate), ``average`` (name -> array).
    """

    name = "mean"

    def __init__(self, params: ParamsLike) -> None:
        self._params = [(n, p) for n, p, _ in _collect_params(params)]
        self.average = {n: p.copy() for n, p in self._params}
        self.count = 0
        self.swapped = False

    def start(self) -> None:
        """Forget what was averaged: the next :meth:`update` begins a new average."""
        self._check_unswapped("start")
        self.count = 0

    def update(self) -> None:
        """Fold the parameters as they are now into the average (after each optimizer step)."""
        self._check_unswapped("update")
        self.count += 1
        for n, p in self._params:
            self._blend(self.average[n], p, self.count)

    @staticmethod
    def _blend(avg: np.ndarray, p: np.ndarray, k: int) -> None:
        """``avg <- avg + (p - avg) / k`` in place (``k = 1``: a copy of ``p``)."""
        if k == 1:
            avg[...] = p
        else:
            avg += (p - avg) / k

    def swap(self) -> None:
        """Exchange the live parameters and the average, in place."""
        for n, p in self._params:
            tmp = p.copy()
            p[...] = self.average[n]
            self.average[n][...] = tmp
        self.swapped = not self.swapped

    def _check_unswapped(self, what: str) -> None:
        if self.swapped:
            raise RuntimeError(f"{what}: the model holds the average; hint: swap() back before training on")

    # -- persistence ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Plain data: ``{"name", "count", "swapped", "arrays"}`` (copies of the averages)."""
        arrays = {n: a.copy() for n, a in self.average.items()}
        return {"name": self.name, "count": self.count, "swapped": self.swapped, "arrays": arrays}

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a :meth:`state_dict`, checking the name, every key and shape first."""
        if d.get("name") != self.name:
            raise ValueError(f"state['name']: expected {self.name!r}, got {d.get('name')!r}")
        count = d.get("count")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"state['count']: expected an int >= 0, got {count!r}")
        arrays = d.get("arrays")
        if not isinstance(arrays, Mapping) or set(arrays) != set(self.average):
            got = sorted(arrays) if isinstance(arrays, Mapping) else type(arrays).__name__
            raise ValueError(f"state['arrays']: expected the parameters {sorted(self.average)}, got {got}")
        for n, p in self._params:
            a = np.asarray(arrays[n])
            if a.shape != p.shape:
                raise ValueError(f"state['arrays'][{n!r}]: expected shape {p.shape}, got {a.shape}")
        for n, p in self._params:
            self.average[n] = np.asarray(arrays[n]).astype(p.dtype, copy=True)
        self.count, self.swapped = int(count), bool(d.get("swapped", False))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._params)} tensors, count={self.count}, swapped={self.swapped})"
