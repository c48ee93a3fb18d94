"""Linear and Embedding layers, each a forward/backward pair with an explicit cache.

Shape legend: N any leading dims, I input features, O output features, V vocabulary,
E embedding size.
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

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N..., I) -> (y (N..., O), cache)."""
        x = _checks.float_array("x", x, self.dtype, tuple(range(1, 8)))
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x: expected {self.in_features} features in the last axis, got shape {x.shape}")
        y = x @ self._params["weight"].T  # (N, I) x (I, O)
        if "bias" in self._params:
            y += self._params["bias"]
        return y, x

    def backward(self, dy: ArrayLike, cache: np.ndarray) -> np.ndarray:
        """dy (N..., O) -> dx (N..., I); accumulates dW = dy^T x and db = sum dy."""
        x = cache
        dy = np.asarray(dy, self.dtype)
        if dy.shape != x.shape[:-1] + (self.out_features,):
            raise ValueError(f"dy: expected shape {x.shape[:-1] + (self.out_features,)}, got {dy.shape}")
        dy2 = dy.reshape(-1, self.out_features)
        self._grads["weight"] += dy2.T @ x.reshape(-1, self.in_features)  # (O, N) x (N, I)
        if "bias" in self._params:
            self._grads["bias"] += dy2.sum(axis=0)
        return dy @ self._params["weight"]  # (N, O) x (O, I)


class Embedding(Module):
    """A lookup table: ids (N...) -> rows of weight (V, E), as ``torch.nn.Embedding``."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dtype: DTypeLike = "float32",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _checks.positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
        self.dtype = resolve_dtype(dtype)
        if padding_idx is not None and not (-self.num_embeddings <= padding_idx < self.num_embeddings):
            raise ValueError(f"padding_idx: expected an index in [0, {self.num_embeddings}), got {padding_idx}")
        self.padding_idx = None if padding_idx is None else padding_idx % self.num_embeddings
        w = check_rng(rng).standard_normal((self.num_embeddings, self.embedding_dim)).astype(self.dtype)
        if self.padding_idx is not None:
            w[self.padding_idx] = 0
        self.register_parameter("weight", w)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def forward(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ids (N...) ints in [0, V) -> (vectors (N..., E), cache)."""
        ids = np.asarray(ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids: expected integer token ids, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(
                f"ids: expected ids in [0, {self.num_embeddings}), got min {ids.min()} and max {ids.max()}"
            )
        return self._params["weight"][ids], ids

    def backward(self, dvec: ArrayLike, cache: np.ndarray) -> None:
        """Scatter-add dvec (N..., E) into the rows that were looked up; no input gradient."""
        ids = cache
        dvec = np.asarray(dvec, self.dtype).reshape(-1, self.embedding_dim)
        flat = ids.reshape(-1)
        if self.padding_idx is not None:
            keep = flat != self.padding_idx
            flat, dvec = flat[keep], dvec[keep]
        np.add.at(self._grads["weight"], flat, dvec)
        return None
