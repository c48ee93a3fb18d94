"""Hidden-state activations over a text, and a ranking of the most interpretable cells.

Shape legend
    T  time steps (characters)     H  hidden units (cells)     F  features

Following Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent
Networks": run a character model over a text, keep every unit's value at every character,
and look for units that track something readable: being inside quotes or parentheses, the
position in the line, vowels. A unit "tracks" a feature when their Pearson correlation
over the text is high:

    r(a, f) = sum_t (a_t - mean a)(f_t - mean f) / (T std(a) std(f))

:func:`rank_cells` scores every (unit, feature) pair that way; :mod:`.visualize` draws
the text coloured by a unit's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..nn import Embedding
from ..nn.recurrent import State, _Recurrent
from ._layers import direction_activations, find_module_with_layers, recurrent_layers


def hidden_activations(
    layer: _Recurrent, x: ArrayLike, *, layer_index: int = 0, direction: int = 0, state: State | None = None
) -> dict[str, np.ndarray]:
    """Every hidden and gate value of one layer/direction over one sequence.

    Args:
        layer: an RNN/LSTM/GRU layer.
        x: (T, I) one sequence, or (T, 1, I) (batch-first layers: (1, T, I)).
        layer_index: which stacked layer to read.
        direction: which direction to read (0 forward, 1 reverse).
        state: optional initial state as for ``layer.forward``.
    Returns:
        ``{"h": (T, H), ...}`` in float64: RNN h; LSTM h, c, i, f, g, o; GRU h, r, z, n.
    The layer runs in eval mode (no dropout) and is put back in its previous mode.
    """
    if not isinstance(layer, _Recurrent):
        raise TypeError(f"layer: expected an rnnkit RNN, LSTM or GRU layer, got {type(layer).__name__}")
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[None] if layer.batch_first else x[:, None]  # (1, T, I) or (T, 1, I)
    if x.ndim != 3 or (x.shape[0] if layer.batch_first else x.shape[1]) != 1:
        raise ValueError(f"x: expected one sequence (T, I) or (T, 1, I), got shape {x.shape}")
    if not 0 <= layer_index < layer.num_layers:
        raise ValueError(f"layer_index: expected 0..{layer.num_layers - 1}, got {layer_index!r}")
    if not 0 <= direction < layer.num_directions:
        raise ValueError(f"direction: expected 0..{layer.num_directions - 1}, got {direction!r}")
    was_training = layer.training
    layer.eval()
    try:
        _, _, cache = layer.forward(x.astype(layer.dtype, copy=False), state)
    finally:
        layer.train(was_training)
    acts = direction_activations(layer, cache.layers[layer_index].dirs[direction])
    return {name: np.array(a[:, 0], dtype=np.float64) for name, a in acts.items()}  # (T, H) each


def text_activations(
    layer: _Recurrent, text: str, encode: Callable[[str], np.ndarray], **kwargs: Any
) -> dict[str, np.ndarray]:
    """:func:`hidden_activations` over ``text``, with ``encode(text) -> (T, I)`` the model's input.

    For a model with an embedding in front of the layer, ``encode`` returns the embedded
    vectors (one row per character).
    """
    if not isinstance(text, str) or not text:
        raise ValueError(
            f"text: expected a non-empty string, got {type(text).__name__} "
            f"of length {len(text) if isinstance(text, str) else '-'}"
        )
    x = np.asarray(encode(text))
    if x.ndim != 2 or x.shape[0] != len(text):
        raise ValueError(f"encode: expected (T, I) with T = len(text) = {len(text)}, got shape {x.shape}")
    return hidden_activations(layer, x, **kwargs)


# -- features of a text ---------------------------------------------------------------------
VOWELS = frozenset("aeiouAEIOU")


def text_features(text: str) -> dict[str, np.ndarray]:
    """Simple per-character features, each (T,) float64, describing the state *after* reading
    character t (what a left-to-right model can know at t):

    inside_quotes     an odd number of '"' in text[:t+1]
    inside_parens     more '(' than ')' in text[:t+1]
    paren_depth       that surplus (>= 0)
    position_in_line  characters since the last newline (0 at a line's first character)
    vowel, space, uppercase, digit, newline   the character itself
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text: expected a non-empty string")
    T = len(text)
    chars = np.array(list(text))
    quotes = np.cumsum(chars == '"') % 2
    depth = np.zeros(T)
    pos = np.zeros(T)
    d, col = 0, 0
    for t, ch in enumerate(text):
        if ch == "(":
            d += 1
        elif ch == ")":
            d = max(d - 1, 0)
        depth[t] = d
        pos[t] = col
        col = 0 if ch == "\n" else col + 1
    return {
        "inside_quotes": quotes.astype(np.float64),
        "inside_parens": (depth > 0).astype(np.float64),
        "paren_depth": depth,
        "position_in_line": pos,
        "vowel": np.array([c in VOWELS for c in text], np.float64),
        "space": (chars == " ").astype(np.float64),
        "uppercase": np.array([c.isupper() for c in text], np.float64),
        "digit": np.array([c.isdigit() for c in text], np.float64),
        "newline": (chars == "\n").astype(np.float64),
    }


def correlations(acts: ArrayLike, features: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Pearson r between every unit and every feature.

    Args: acts (T, H); features name -> (T,).
    Returns: (feature names (F,), R (H, F)); a constant unit or feature correlates 0.
    """
    A = np.asarray(acts, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"acts: expected (T, H), got shape {A.shape}")
    names = list(features)
    if not names:
        raise ValueError("features: expected at least one feature")
    Fm = np.stack([np.asarray(features[n], dtype=np.float64) for n in names], axis=1)  # (T, F)
    if Fm.shape[0] != A.shape[0]:
        raise ValueError(f"features: expected length T = {A.shape[0]} (rows of acts), got {Fm.shape[0]}")
    if not np.all(np.isfinite(A)):
        raise ValueError("acts: contains NaN or inf")
    Ac = A - A.mean(axis=0)  # (T, H)
    Fc = Fm - Fm.mean(axis=0)  # (T, F)
    sa = np.sqrt((Ac * Ac).sum(axis=0))  # (H,)
    sf = np.sqrt((Fc * Fc).sum(axis=0))  # (F,)
    denom = sa[:, None] * sf[None, :]  # (H, F)
    num = Ac.T @ Fc  # (H, T) x (T, F)
    tiny = 1e-12 * max(float(denom.max(initial=0.0)), 1.0)
    R = np.zeros_like(num)
    np.divide(num, denom, out=R, where=denom > tiny)
    return names, np.clip(R, -1.0, 1.0)


def rank_cells(acts: ArrayLike, features: Mapping[str, np.ndarray], top: int = 10) -> list[dict]:
    """The ``top`` (unit, feature) pairs by |r|, each unit listed once with its best feature.

    Returns: ``[{"cell": j, "feature": name, "correlation": r}, ...]`` best first.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top: expected an int >= 1, got {top!r}")
    names, R = correlations(acts, features)
    best = np.argmax(np.abs(R), axis=1)  # (H,)
    score = np.abs(R[np.arange(R.shape[0]), best])
    order = np.argsort(-score, kind="stable")[:top]
    return [{"cell": int(j), "feature": names[best[j]], "correlation": float(R[j, best[j]])} for j in order]


def char_model_activations(model: Any, text: str, *, layer_index: int | None = None) -> dict[str, np.ndarray]:
    """:func:`hidden_activations` of a character model (e.g. :class:`rnnkit.models.CharLM`) over ``text``.

    The model is a fitted estimator with ``net_`` and ``vocab_`` (or the network itself
    with a ``vocab_`` given on it); its network holds one recurrent layer, fed by an
    ``Embedding`` (or one-hot vectors when there is none). ``layer_index`` defaults to the
    top layer.
    """

    net = find_module_with_layers(model)
    layers = recurrent_layers(net)
    if len(layers) != 1:
        raise ValueError(f"model: expected a network with one recurrent layer, found {len(layers)} ({sorted(layers)})")
    layer = next(iter(layers.values()))
    if not isinstance(text, str) or not text:
        raise ValueError("text: expected a non-empty string")
    if callable(getattr(model, "_encode", None)):
        ids = np.asarray(model._encode(text, "text"))
    elif getattr(model, "vocab_", None) is not None:
        ids = np.asarray(model.vocab_.encode(list(text)))
    else:
        raise TypeError(f"model: expected a fitted character model with vocab_, got {type(model).__name__}")
    embed = [m for m in net._children.values() if isinstance(m, Embedding)]
    if embed:
        x = embed[0].parameters()["weight"][ids]  # (T, E)
    else:
        x = np.zeros((ids.size, layer.input_size), layer.dtype)
        x[np.arange(ids.size), ids] = 1.0  # one-hot (T, V)
    k = layer.num_layers - 1 if layer_index is None else layer_index
    return hidden_activations(layer, x, layer_index=k)
