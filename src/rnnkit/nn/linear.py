"""Linear and Embedding layers, each a forward/backward pair with an explicit cache, and
the output projection tied to an embedding.

Shape legend: N any leading dims, I input features, O output features, V vocabulary,
E embedding size.

Embedding dropout (Gal & Ghahramani 2016; AWD-LSTM's ``dropoute``): while training, each
``forward`` of an ``Embedding(..., dropout=p)`` draws one Bernoulli(1 - p) mask m over the
V rows and looks up ``W[ids] * m[ids] / (1 - p)``: a dropped word (or character) is zero
at every place it occurs in the batch. backward scatter-adds ``dvec * m[ids] / (1 - p)``,
the exact gradient under the mask.

Weight tying (Press & Wolf 2017, Inan et al. 2017): :class:`TiedLinear` computes
``y = x W^T + b`` with the embedding's W (V, E), stored once; its gradient is the sum of
both uses.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _checks
from .module import Module, check_rng, resolve_dtype


class Linear(Module):
    """y = x W^T + b, with W (O, I) and b (O,) as in ``torch.nn.Linear`` (the texts' y_t = W_y h_t + b_y)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: DTypeLike = "float32",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _checks.positive_int("in_features", in_features)
        self.out_features = _checks.positive_int("out_features", out_features)
        self.dtype = resolve_dtype(dtype)
        rng = check_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)  # PyTorch's default bounds
        self.register_parameter(
            "weight", rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(self.dtype)
        )
        if bias:
            self.register_parameter("bias", rng.uniform(-bound, bound, self.out_features).astype(self.dtype))

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={'bias' in self._params}"

    @property
    def weight(self) -> np.ndarray:
        """W (O, I), the live parameter."""
        return self._params["weight"]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N..., I) -> (y (N..., O), cache)."""
        return _affine_forward(self, self.weight, x)

    def backward(self, dy: ArrayLike, cache: np.ndarray) -> np.ndarray:
        """dy (N..., O) -> dx (N..., I); accumulates dW = dy^T x and db = sum dy."""
        return _affine_backward(self, self.weight, self._grads["weight"], dy, cache)


class Embedding(Module):
    """A lookup table: ids (N...) -> rows of weight (V, E), as ``torch.nn.Embedding``."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dropout: float = 0.0,
        dtype: DTypeLike = "float32",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _checks.positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
        self.dropout = _checks.probability("dropout", dropout)  # embedding dropout: whole rows (module doc)
        self.dtype = resolve_dtype(dtype)
        rng = check_rng(rng)
        if padding_idx is not None and not (-self.num_embeddings <= padding_idx < self.num_embeddings):
            raise ValueError(f"padding_idx: expected an index in [0, {self.num_embeddings}), got {padding_idx}")
        self.padding_idx = None if padding_idx is None else padding_idx % self.num_embeddings
        w = rng.standard_normal((self.num_embeddings, self.embedding_dim)).astype(self.dtype)
        if self.padding_idx is not None:
            w[self.padding_idx] = 0
        self.register_parameter("weight", w)
        if self.dropout > 0:  # the masks' generator (kept only when used, so a trainer saves it only then)
            self.rng = rng

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (f", dropout={self.dropout}" if self.dropout else "")

    def forward(self, ids: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray | None]]:
        """ids (N...) ints in [0, V) -> (vectors (N..., E), cache: the ids and the rows' dropout
        scales (V,), None when no dropout ran)."""
        ids = np.asarray(ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids: expected integer token ids, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(
                f"ids: expected ids in [0, {self.num_embeddings}), got min {ids.min()} and max {ids.max()}"
            )
        W = self._params["weight"]  # (V, E)
        if not (self.training and self.dropout > 0):
            return W[ids], (ids, None)
        keep = 1.0 - self.dropout
        scale = (self.rng.random(self.num_embeddings) < keep).astype(self.dtype) / self.dtype.type(keep)  # (V,)
        return W[ids] * scale[ids][..., None], (ids, scale)

    def backward(self, dvec: ArrayLike, cache: tuple) -> None:
        """Scatter-add dvec (N..., E) into the rows that were looked up (times their dropout
        scale while training); no input gradient."""
        ids, scale = cache
        d = np.asarray(dvec, self.dtype).reshape(-1, self.embedding_dim)  # (N, E)
        flat = ids.reshape(-1)
        if scale is not None:
            d = d * scale[flat][:, None]
        if self.padding_idx is not None:
            keep = flat != self.padding_idx
            flat, d = flat[keep], d[keep]
        np.add.at(self._grads["weight"], flat, d)
        return None


class TiedLinear(Module):
    """y = x W^T + b with W (V, E) the weight of ``embedding``: the output projection tied to
    the input embedding (AWD-LSTM's ``tie_weights``; see the module doc).

    W is stored once, as the embedding's parameter (this module owns only the bias, and
    the embedding is not its child, so the state dict and the optimizer see W once);
    backward adds dL/dW into the embedding's gradient. ``weight`` is the live W.
    """

    def __init__(
        self,
        embedding: Embedding,
        bias: bool = True,
        *,
        dtype: DTypeLike = "float32",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(embedding, Embedding):
            raise TypeError(f"embedding: expected an rnnkit.nn.Embedding to tie to, got {type(embedding).__name__}")
        self.embedding = embedding
        self.in_features, self.out_features = embedding.embedding_dim, embedding.num_embeddings
        self.dtype = resolve_dtype(dtype)
        if self.dtype != embedding.dtype:
            raise TypeError(f"dtype: expected the embedding's {embedding.dtype.name}, got {self.dtype.name}")
        bound = 1.0 / np.sqrt(self.in_features)  # Linear's default bias bounds
        if bias:
            self.register_parameter("bias", check_rng(rng).uniform(-bound, bound, self.out_features).astype(self.dtype))

    @property
    def weight(self) -> np.ndarray:
        """W (V, E): the embedding's live weight."""
        return self.embedding.parameters()["weight"]

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={'bias' in self._params}, tied to the embedding"

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N..., E) -> (y (N..., V), cache)."""
        return _affine_forward(self, self.weight, x)

    def backward(self, dy: ArrayLike, cache: np.ndarray) -> np.ndarray:
        """dy (N..., V) -> dx (N..., E); adds dW = dy^T x into the embedding's gradient."""
        return _affine_backward(self, self.weight, self.embedding.grads["weight"], dy, cache)


# -- y = x W^T + b: the forward/backward pair of Linear and TiedLinear ---------------------
def _affine_forward(mod: Linear | TiedLinear, W: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _checks.float_array("x", x, mod.dtype, tuple(range(1, 8)))
    if x.shape[-1] != mod.in_features:
        raise ValueError(f"x: expected {mod.in_features} features in the last axis, got shape {x.shape}")
    y = x @ W.T  # (N, I) x (I, O)
    if "bias" in mod._params:
        y += mod._params["bias"]
    return y, x


def _affine_backward(
    mod: Linear | TiedLinear, W: np.ndarray, dW: np.ndarray, dy: ArrayLike, x: np.ndarray
) -> np.ndarray:
    dy = np.asarray(dy, mod.dtype)
    if dy.shape != x.shape[:-1] + (mod.out_features,):
        raise ValueError(f"dy: expected shape {x.shape[:-1] + (mod.out_features,)}, got {dy.shape}")
    dy2 = dy.reshape(-1, mod.out_features)
    dW += dy2.T @ x.reshape(-1, mod.in_features)  # (O, N) x (N, I)
    if "bias" in mod._params:
        mod._grads["bias"] += dy2.sum(axis=0)
    return dy @ W  # (N, O) x (O, I)
