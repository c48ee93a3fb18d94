"""The sequence driver: stacked, bidirectional, variable-length RNN/LSTM/GRU layers.

Shape legend
    T  time steps      B  batch        I  input features     H  hidden units
    L  layers          D  directions (1 or 2)                G  gates x H

One driver owns the time loop and backpropagation through time for every cell:

    out, state, cache = layer.forward(x, state=None, lengths=None)
    dx, dstate0 = layer.backward(dout, dstate, cache)   # accumulates into layer.grads
    state = layer.step(x_t, state)                      # one step, online use
    handle = layer.observe(obs)                         # see :mod:`rnnkit.nn.observers`

Layouts are PyTorch's: x is (T, B, I), or (B, T, I) with ``batch_first``; ``state`` is ``h``
(L*D, B, H), or ``(h, c)`` for the LSTM; parameters are ``weight_ih_l{k}`` (G, I_k), ``weight_hh_l{k}``
(G, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G,), with suffix ``_reverse`` for the backward direction.
Layer k > 0 reads both directions of layer k - 1, with dropout between layers while training. More dropouts
(recurrent, locked input/output): :mod:`rnnkit.nn._dropout`; weight drop: :mod:`rnnkit.nn._weight_drop`.

Variable length: with ``lengths`` (right padding), row b is valid for t < lengths[b]; outputs
past its end are zero, its final state is the state at its last valid step, and the reverse
direction starts at its own last valid step. Implemented by a per-step selection
``h_t = h_new if t < len else h_{t-1}``, so gradients equal those of running each row alone.

Speed: states live in one (T+1, B, H) array per direction, each step writing into its own slot;
padded steps cost a masked copy only where some row has ended. The gate math runs in NumPy or compiled
kernels (:mod:`rnnkit._kernels`), the per-step product with NumPy's BLAS or MKL (:mod:`rnnkit._kernels.gemm`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import _kernels
from .._kernels import gemm
from . import _checks, _dropout, _step, _weight_drop
from ._cache import RecurrentCache, _DirectionCache, _LayerCache, _Workspace
from .cells import CELLS, cell_spec, make_cell
from .module import Module, check_rng, resolve_dtype
from .observers import Observable

# h, or (h, c) for the LSTM; each (num_layers * num_directions, B, H)
State = np.ndarray | tuple[np.ndarray, np.ndarray]


class _Recurrent(Observable, Module):
    precision = "fp32"  # or "bf16-mixed": the per-step products in bf16 (rnnkit._kernels.gemm)

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        input_dropout: float = 0.0,
        output_dropout: float = 0.0,
        locked_dropout: bool = False,
        dtype: DTypeLike = "float32",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = _checks.positive_int("input_size", input_size)
        self.hidden_size = _checks.positive_int("hidden_size", hidden_size)
        self.num_layers = _checks.positive_int("num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = _checks.probability("dropout", dropout)
        self.recurrent_dropout = _checks.probability("recurrent_dropout", recurrent_dropout)
        self.weight_drop = _checks.probability("weight_drop", weight_drop)  # see rnnkit.nn._weight_drop
        self.input_dropout = _checks.probability("input_dropout", input_dropout)  # locked: see rnnkit.nn._dropout
        self.output_dropout = _checks.probability("output_dropout", output_dropout)
        self.locked_dropout = _checks.flag("locked_dropout", locked_dropout)
        self.bidirectional = bool(bidirectional)
        self.dtype = resolve_dtype(dtype)
        self.rng = check_rng(rng)
        self.cell = make_cell(mode)
        self.num_directions = 2 if self.bidirectional else 1
        self._step_names = _step.step_names(self)  # parameter names per layer, for step()
        self._workspace = _Workspace()  # reused big arrays (see _Workspace)
        self.record_grad_flow = False  # when True, backward fills self.grad_flow
        self.grad_flow: dict[str, np.ndarray] = {}
        H, G = self.hidden_size, self.cell.num_gates * self.hidden_size
        bound = 1.0 / np.sqrt(H)  # PyTorch's default: U(-1/sqrt(H), 1/sqrt(H)) for all
        self._extra_names = tuple(self.cell.extra_parameters(G, H, self.bias, self.dtype))  # the cell's own
        self._bases = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if self.bias else ()) + self._extra_names
        for k in range(self.num_layers):
            in_k = self.input_size if k == 0 else H * self.num_directions
            for d in range(self.num_directions):
                sfx = self._suffix(k, d)
                u = lambda *shape: self.rng.uniform(-bound, bound, shape).astype(self.dtype)  # noqa: E731
                self.register_parameter("weight_ih" + sfx, u(G, in_k))
                self.register_parameter("weight_hh" + sfx, u(G, H))
                if self.bias:
                    self.register_parameter("bias_ih" + sfx, u(G))
                    self.register_parameter("bias_hh" + sfx, u(G))
                for name, value in self.cell.extra_parameters(G, H, self.bias, self.dtype).items():
                    self.register_parameter(name + sfx, value)

    @staticmethod
    def _suffix(k: int, d: int) -> str:
        return f"_l{k}" + ("_reverse" if d else "")

    def _weights(self, k, d):
        p, s = self._params, self._suffix(k, d)
        return p["weight_ih" + s], p["weight_hh" + s], p.get("bias_ih" + s), p.get("bias_hh" + s)

    def _own(self, table, k, d):
        """One direction's entries of ``table`` (parameters or gradients) by base name."""
        s = self._suffix(k, d)
        return {b: table[b + s] for b in self._bases}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if "nonlinearity" in cell_spec(self.mode).layer_kwargs:
            s += f", nonlinearity={self.cell.nonlinearity!r}"
        defaults = dict(bias=True, batch_first=False, dropout=0.0, bidirectional=False, recurrent_dropout=0.0)
        more = dict(weight_drop=0.0, input_dropout=0.0, output_dropout=0.0, locked_dropout=False)
        for name, default in {**defaults, **more}.items():
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s + f", dtype={self.dtype.name}"

    # -- validation -------------------------------------------------------------------
    def _check_input(self, x: Any) -> np.ndarray:
        lay = "(B, T, I)" if self.batch_first else "(T, B, I)"
        x = _checks.float_array("x", x, self.dtype, 3, hint=f"expected layout {lay}; for one sequence add a batch axis")
        if x.shape[2] != self.input_size:
            raise ValueError(f"x: expected {self.input_size} features in the last axis {lay}, got shape {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x: expected at least one time step and one batch row, got shape {x.shape}")
        return np.ascontiguousarray(x.transpose(1, 0, 2)) if self.batch_first else x

    def _state_shape(self, B):
        return (self.num_layers * self.num_directions, B, self.hidden_size)

    def _check_state(self, state, B, name="state"):
        """Return (h, c) arrays of shape (L*D, B, H); c is None unless LSTM."""
        shape = self._state_shape(B)
        lstm = self.cell.has_cell_state
        if state is None:
            z = np.zeros(shape, self.dtype)
            return z, (z.copy() if lstm else None)
        if lstm:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise TypeError(f"{name}: expected a tuple (h, c) for an LSTM, got {type(state).__name__}")
            parts = [_checks.float_array(f"{name}[{i}]", s, self.dtype, 3) for i, s in enumerate(state)]
        else:
            if isinstance(state, (tuple, list)):
                raise TypeError(f"{name}: expected one array h for {self.mode}, got a {type(state).__name__}")
            parts = [_checks.float_array(name, state, self.dtype, 3)]
        for i, s in enumerate(parts):
            if s.shape != shape:
                label = f"{name}[{i}]" if lstm else name
                raise ValueError(f"{label}: expected shape {shape} (num_layers * num_directions, B, H), got {s.shape}")
        return parts[0], (parts[1] if lstm else None)

    # -- forward ----------------------------------------------------------------------
    def forward(
        self, x: np.ndarray, state: State | None = None, lengths: np.ndarray | list[int] | None = None
    ) -> tuple[np.ndarray, State, RecurrentCache]:
        """Run the layers over a whole sequence.

        Args:
            x: (T, B, I), or (B, T, I) with batch_first.
            state: initial h, or (h, c) for LSTM, each (L*D, B, H); zeros when None.
            lengths: optional (B,) ints in [1, T]; rows are right-padded past their length.
        Returns:
            out: (T, B, D*H) (or batch-first) top-layer outputs, zero past each row's end
            (times the ``output_dropout`` mask while training; ``cache.output`` holds them
            before it); state: final h or (h, c), each (L*D, B, H); cache: for ``backward``.
        """
        x = self._check_input(x)
        T, B, _ = x.shape
        lengths = _checks.lengths_array(lengths, T, B)
        h0, c0 = self._check_state(state, B)
        mask = None
        if lengths is not None and lengths.min() < T:
            mask = (np.arange(T)[:, None] < lengths[None, :])[:, :, None]  # (T, B, 1)
        cache = RecurrentCache(id(self), T, B, self.batch_first, mask)
        H, D = self.hidden_size, self.num_directions
        h_n = np.empty_like(h0)
        c_n = np.empty_like(c0) if c0 is not None else None
        kern = _kernels.active(self.dtype)
        cache.input_mask = _dropout.locked(self, x, self.input_dropout)  # (1, B, I)
        layer_in = _dropout.apply(x, cache.input_mask)
        for k in range(self.num_layers):
            out = self._workspace.empty((T, B, D * H), self.dtype)
            dirs = []
            for d in range(D):
                i = k * D + d
                rec_mask = _dropout.recurrent(self, B)
                hT, cT, dc = self._forward_direction(
                    layer_in,
                    h0[i],
                    None if c0 is None else c0[i],
                    self._own(self._params, k, d),
                    mask,
                    d == 1,
                    out[:, :, d * H : (d + 1) * H],
                    rec_mask,
                    kern,
                )
                h_n[i] = hT
                if c_n is not None:
                    c_n[i] = cT
                dirs.append(dc)
            if mask is not None:
                out *= mask  # zero past each row's end
            drop = _dropout.between(self, out) if k < self.num_layers - 1 else None  # (T or 1, B, D*H)
            if drop is not None:
                out *= drop
            cache.layers.append(_LayerCache(layer_in, dirs, drop))
            layer_in = out
        cache.output, cache.output_mask = layer_in, _dropout.locked(self, layer_in, self.output_dropout)
        layer_in = _dropout.apply(layer_in, cache.output_mask)  # (T, B, D*H)
        out = np.ascontiguousarray(layer_in.transpose(1, 0, 2)) if self.batch_first else layer_in
        if self._observers:
            self._notify_forward(cache)
        return out, (h_n if c_n is None else (h_n, c_n)), cache

    def _forward_direction(self, x, h, c, params, mask, reverse, out, rec_mask, kern):
        """One direction of one layer over all T steps; writes outputs into ``out`` (T, B, H).

        The states live in one (T+1, B, H) array per direction, indexed by time: h_t is ``hs[t + 1]``
        going forward and ``hs[t]`` going backward in time, the initial state at the other end. Each
        step writes its new state straight into its slot: no per-step copies, ``h_{t-1}`` is a view.
        """
        params, weight_mask = _weight_drop.draw(self, params)  # W_hh * M / (1 - p) while training
        W_ih, W_hh, b_ih, b_hh = (params.get(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        T, B, _ = x.shape
        H, cell, dt = self.hidden_size, self.cell, self.dtype
        empty = self._workspace.empty
        G = cell.num_gates * H
        xp = cell.project(x.reshape(T * B, -1), W_ih, b_ih, b_hh, out=empty((T * B, G), dt)).reshape(T, B, G)
        Wr, br = cell.recurrent_weight(W_hh, b_hh)
        store = cell.allocate(T, B, H, dt, empty)
        cell.prepare(xp, store, params)  # a cell's own parameters (nothing for the plain cells)
        ws = cell.workspace(B, H, dt)
        hs = empty((T + 1, B, H), dt)
        cs = empty((T + 1, B, H), dt) if c is not None else None
        new, old = (0, 1) if reverse else (1, 0)  # slot offsets of h_t and h_{t-1}
        hs[T if reverse else 0] = h
        if cs is not None:
            cs[T if reverse else 0] = c
        partial = None if mask is None else ~mask[:, :, 0].all(axis=1)  # (T,) some row ended
        hr_buf = np.empty((B, H), dt) if rec_mask is not None else None
        c_old = c_new = None
        whole = mask is None and rec_mask is None and self.precision == "fp32"  # the kernels are fp32
        steps = range(T - 1, -1, -1) if reverse else range(T)
        if whole and cell.sequence_forward(xp, Wr, br, hs, cs, store, reverse, kern):
            steps = ()  # the compiled kernel ran the loop
        Wr = gemm.recurrent_operand(Wr, B, T, "forward", self.precision) if steps else Wr  # once per sequence
        for t in steps:
            h_old, h_new = hs[t + old], hs[t + new]
            if cs is not None:
                c_old, c_new = cs[t + old], cs[t + new]
            hr = h_old if rec_mask is None else np.multiply(h_old, rec_mask, out=hr_buf)
            cell.step_forward(xp[t], hr, h_old, c_old, Wr, br, store, t, h_new, c_new, ws, kern)
            if partial is not None and partial[t]:
                ended = ~mask[t]  # (B, 1): a padded step keeps its state
                np.copyto(h_new, h_old, where=ended)
                if cs is not None:
                    np.copyto(c_new, c_old, where=ended)
        h_time, h_prev = (hs[:-1], hs[1:]) if reverse else (hs[1:], hs[:-1])  # (T, B, H) views
        c_prev = None if cs is None else (cs[1:] if reverse else cs[:-1])
        out[...] = h_time  # zeroed past each row's end by the caller
        end = 0 if reverse else T
        dcache = _DirectionCache(store, h_prev, c_prev, rec_mask, h_time, weight_mask)
        return hs[end], None if cs is None else cs[end], dcache

    # -- backward ---------------------------------------------------------------------
    def backward(
        self, dout: np.ndarray | None, dstate: State | None, cache: RecurrentCache, doutput: np.ndarray | None = None
    ) -> tuple[np.ndarray, State]:
        """Backpropagation through time for one ``forward``.

        Args:
            dout: dL/dout, shaped like ``out`` (or None for zeros).
            dstate: dL/d(final state), shaped like ``state`` (or None for zeros).
            cache: the third value returned by ``forward``.
            doutput: optional dL/d``cache.output`` (T, B, D*H), time-major: the gradient of a
                term on the outputs before output dropout (TAR: :mod:`rnnkit.nn.activation_reg`).
        Returns:
            dx shaped like x, and dL/d(initial state) shaped like ``state``.
        Accumulates dL/dparameters into ``self.grads``.
        """
        if not isinstance(cache, RecurrentCache) or cache.owner != id(self):
            raise TypeError(f"cache: expected the cache returned by this layer's forward(); got {type(cache).__name__}")
        T, B, H, D = cache.T, cache.B, self.hidden_size, self.num_directions
        out_shape = (B, T, D * H) if cache.batch_first else (T, B, D * H)
        if dout is None:
            g = np.zeros((T, B, D * H), self.dtype)
        else:
            g = _checks.float_array("dout", dout, self.dtype, 3)
            if g.shape != out_shape:
                raise ValueError(f"dout: expected shape {out_shape} (the shape of out), got {g.shape}")
            g = g.transpose(1, 0, 2) if cache.batch_first else g
        g = _dropout.output_grad(g, cache, doutput)  # back through output dropout, plus a term before it
        dh_n, dc_n = self._check_state(dstate, B, name="dstate")
        dh0, dc0 = np.empty_like(dh_n), (np.empty_like(dc_n) if dc_n is not None else None)
        if self.record_grad_flow:
            self.grad_flow = {}
        grads = self._grads
        kern = _kernels.active(self.dtype)
        for k in range(self.num_layers - 1, -1, -1):
            lc = cache.layers[k]
            if lc.drop_mask is not None:
                g = g * lc.drop_mask
            x = lc.x
            dx = self._workspace.empty(x.shape, self.dtype)
            for d in range(D):
                i, sfx = k * D + d, self._suffix(k, d)
                W_ih = self._params["weight_ih" + sfx]
                W_hh = _weight_drop.weight(lc.dirs[d], self._params["weight_hh" + sfx])  # as forward ran
                dgi, dgh, dh0[i], dci = self._backward_direction(
                    g[:, :, d * H : (d + 1) * H],
                    dh_n[i],
                    None if dc_n is None else dc_n[i],
                    lc.dirs[d],
                    W_hh,
                    cache.mask,
                    d == 1,
                    sfx,
                    kern,
                )
                if dc0 is not None:
                    dc0[i] = dci
                hr = lc.dirs[d].h_prev
                if lc.dirs[d].rec_mask is not None:
                    hr = hr * lc.dirs[d].rec_mask
                # every parameter gradient: one product or sum over all time steps (the cell's)
                x2, hr2, gi2, gh2 = (a.reshape(T * B, -1) for a in (x, hr, dgi, dgh))
                gi2 = _weight_drop.weight_grads(self.cell, lc.dirs[d], x2, hr2, gi2, gh2, self._own(grads, k, d))
                dx2 = dx.reshape(T * B, -1)
                if d == 0:
                    np.matmul(gi2, W_ih, out=dx2)  # (T*B, G) x (G, I)
                else:
                    dx2 += gi2 @ W_ih
            g = dx
        g = _dropout.apply(g, cache.input_mask)
        dx = np.ascontiguousarray(g.transpose(1, 0, 2)) if cache.batch_first else g
        if self._observers:
            self._notify_backward(cache, self.grad_flow if self.record_grad_flow else {})
        return dx, (dh0 if dc0 is None else (dh0, dc0))

    def _backward_direction(self, dout, dh, dc, dcache, W_hh, mask, reverse, sfx, kern):
        """BPTT over one direction of one layer; returns (dgi, dgh, dh0, dc0)."""
        T, B, H = dout.shape
        cell, dt = self.cell, self.dtype
        G = cell.num_gates * H
        dgi = self._workspace.empty((T, B, G), dt)
        sep = cell.separate_recurrent_grad  # the cell's own blocks (GRU: d(W_hn h + b_hn)), or dgi itself
        dgh = self._workspace.empty((T, B, sep * H), dt) if sep else dgi
        dhs = [dh.copy(), np.empty_like(dh)]  # double buffers: dL/dh_t and dL/dh_{t-1}
        dcs = [dc.copy(), np.empty_like(dc)] if dc is not None else [None, None]
        ws = cell.workspace(B, H, dt)
        store, h_prev, c_prev, rec_mask = dcache.store, dcache.h_prev, dcache.c_prev, dcache.rec_mask
        h_time = dcache.h_time
        partial = None
        if mask is not None:
            dout = dout * mask  # outputs past a row's end are constant zeros
            partial = ~mask[:, :, 0].all(axis=1)
        record = self.record_grad_flow
        if record:
            flow_h = np.zeros(T)
            flow_c = np.zeros(T) if dc is not None else None
        steps = range(T) if reverse else range(T - 1, -1, -1)  # forward's order, reversed
        whole = mask is None and rec_mask is None and not record and self.precision == "fp32"
        if whole and cell.sequence_backward(dout, dhs[0], dcs[0], store, c_prev, W_hh, dgi, dgh, reverse, kern):
            steps = ()  # the compiled kernel ran the loop
        W_hh = gemm.recurrent_operand(W_hh, B, T, "backward", self.precision) if steps else W_hh
        for t in steps:
            dh, dc = dhs[0], dcs[0]
            dh += dout[t]  # dL/dh_t: from the output and from step t+1
            if record:
                flow_h[t] = np.sqrt(np.sum(dh * dh, dtype=np.float64))
            cut = partial is not None and partial[t]
            if cut:  # a padded step passes its state through
                m = mask[t]
                carry_h = dh * ~m
                dh *= m
                if dc is not None:
                    carry_c = dc * ~m
                    dc *= m
            if record and dc is not None:  # the full dL/dc_t of the state after step t
                dct = cell.cell_grad(dh, dc, store, t)
                if cut:
                    dct += carry_c
                flow_c[t] = np.sqrt(np.sum(dct * dct, dtype=np.float64))
            c_t = c_prev[t] if c_prev is not None else None
            cell.step_backward(
                dh, dc, h_prev[t], c_t, h_time[t], W_hh, store, t, dgi[t], dgh[t], rec_mask, dhs[1], dcs[1], ws, kern
            )
            if cut:
                dhs[1] += carry_h
                if dc is not None:
                    dcs[1] += carry_c
            dhs.reverse()
            dcs.reverse()
        if record:
            name = sfx[1:]
            self.grad_flow["h_" + name] = flow_h
            if flow_c is not None:
                self.grad_flow["c_" + name] = flow_c
        return dgi, dgh, dhs[0], dcs[0]

    # -- online use -------------------------------------------------------------------
    def step(self, x_t: np.ndarray, state: State | None = None) -> State:
        """Advance every layer by one time step: ``state = layer.step(x_t, state)``.

        x_t is (B, I); state as in ``forward``. No dropout is applied. The top layer's new
        hidden state, ``h[-1]`` (or ``state[0][-1]`` for LSTM), is the step's output. The
        returned state is new (it never aliases ``x_t`` or ``state``). Bidirectional layers
        need the whole sequence and cannot step. See :mod:`rnnkit.nn._step`.
        """
        return _step.step(self, x_t, state)


class RNN(_Recurrent):
    """Elman RNN layers: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu.

    Arguments as ``torch.nn.RNN``, plus ``recurrent_dropout`` (variational, one mask per sequence on h_{t-1}),
    ``weight_drop`` (DropConnect on W_hh, one mask per forward), ``dtype`` and keyword-only ``rng``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        **kwargs: Any,
    ) -> None:
        # the registered cells this class carries, by their nonlinearity ("tanh": "RNN_TANH", ...)
        modes = {spec.layer_kwargs["nonlinearity"]: spec.mode for spec in CELLS.values() if spec.layer == "RNN"}
        if nonlinearity not in modes:
            raise ValueError(f"nonlinearity: expected {' or '.join(map(repr, modes))}, got {nonlinearity!r}")
        mode = modes[nonlinearity]
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs)


class LSTM(_Recurrent):
    """LSTM layers (gates i, f, g, o as in ``torch.nn.LSTM``); state is (h, c)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs
        )


class GRU(_Recurrent):
    """GRU layers (gates r, z, n as in ``torch.nn.GRU``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs
        )


class Recurrent(_Recurrent):
    """Layers of any registered cell, by name: ``Recurrent("toy", 8, 16)`` (see
    :mod:`rnnkit.nn.cells.registry`); arguments as :class:`LSTM` after the cell's name."""

    def __init__(self, cell, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, **kwargs):
        mode = cell_spec(cell).mode
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, **kwargs)

    def extra_repr(self) -> str:
        return f"{cell_spec(self.mode).name!r}, " + super().extra_repr()


def make_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs: Any) -> _Recurrent:
    """A layer for a registered cell ("lstm" or "LSTM"): the class its spec names
    (``RNN(nonlinearity="relu")`` for "rnn_relu"), :class:`Recurrent` for a cell without one."""
    spec = cell_spec(cell)
    if spec.layer == "Recurrent":
        return Recurrent(spec.name, input_size, hidden_size, num_layers, **kwargs)
    cls = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[spec.layer]
    return cls(input_size, hidden_size, num_layers, **spec.layer_kwargs, **kwargs)
