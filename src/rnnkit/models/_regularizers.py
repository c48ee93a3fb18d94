"""The regularizers an estimator honours (:mod:`rnnkit.train.regularizers`), handed to its network.

Two kinds, by their declared ``where``:

- ``"layer"`` (``weight_drop``, ``input_dropout``, ``locked_dropout``, ``output_dropout``): options of every
  recurrent layer (:class:`rnnkit.nn.recurrent._Recurrent`); :func:`with_layer_regularizers`
  sets them on each recurrent layer of a network just built, whatever the model, so every
  recurrent model honours them without a line of its own.
- ``"net"`` (``embedding_dropout``, ``activation_reg``, ``temporal_activation_reg``,
  ``tie_weights``): keyword arguments of the network's constructor, which the model passes
  on as ``**net_regularizers(self)`` (``CharLMNet``, ``SequenceNet``, ``FeatureTaggerNet``).
"""

from __future__ import annotations

from typing import Any

from ..nn.recurrent import _Recurrent
from ..train.regularizers import REGULARIZERS, honoured
from ..train.resume import walk_modules

__all__ = ["net_regularizers", "with_layer_regularizers"]


def _values(estimator: Any, where: str) -> dict:
    p = estimator.get_params(deep=False)
    return {n: p[n] for n in honoured(type(estimator)) if REGULARIZERS[n].where == where and n in p}


def net_regularizers(estimator: Any) -> dict:
    """The network-level regularizers ``estimator`` honours, as keyword arguments of its network."""
    return _values(estimator, "net")


def with_layer_regularizers(estimator: Any, net: Any) -> Any:
    """``net``, with the layer regularizers ``estimator`` honours set on each of its recurrent layers."""
    layer = _values(estimator, "layer")
    for _, module in walk_modules(net):
        if isinstance(module, _Recurrent):
            for name, value in layer.items():
                setattr(module, name, value)
    return net
