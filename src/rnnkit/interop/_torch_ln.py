"""PyTorch twins of the layer-normalized cells, built from torch primitives (torch passed in).

Shape legend: T time, B batch, I input features, H hidden, G gates x H, L layers, D directions.

``torch.nn`` has no layer-normalized LSTM or GRU, so :func:`torch_class` gives, for a cell
spec's ``torch`` name, the ``torch.nn`` class (``"LSTM"``) or one of the modules below
(``"LNLSTM"``, ``"LNGRU"``): the equations of :mod:`rnnkit.nn.cells.ln_lstm` and
:mod:`rnnkit.nn.cells.ln_gru` with ``torch.nn.functional.layer_norm`` (eps 1e-5), and
``torch.nn.LSTM``'s interface: ``num_layers``, ``bias``, ``batch_first``, ``dropout`` (between
layers, while training), ``bidirectional``, a ``PackedSequence`` or a padded tensor in, the
outputs and the final states (``(h, c)`` for the LSTM) out, each row's final state at its
length. The parameters have rnnkit's names (``weight_ih_l0``, ``ln_hh_weight_l1_reverse``,
...), so state dicts map one to one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["torch_class", "TWINS"]

#: the twins' names (a CellSpec's ``torch``), their rnnkit cells, gates and layer-norm parts
TWINS = {"LNLSTM": ("ln_lstm", 4, ("ih", "hh", "c")), "LNGRU": ("ln_gru", 3, ("ih", "hh"))}
_BUILT: dict[int, dict[str, type]] = {}  # by id(torch): the classes, built once


def torch_class(torch: Any, name: str) -> type:
    """``torch.nn.<name>``, or the twin module ``name`` of :data:`TWINS`."""
    if name in TWINS:
        if id(torch) not in _BUILT:
            _BUILT[id(torch)] = _build(torch)
        return _BUILT[id(torch)][name]
    return getattr(torch.nn, name)


def _build(torch: Any) -> dict[str, type]:
    nn, F = torch.nn, torch.nn.functional
    rnn_utils = nn.utils.rnn

    class _LNRecurrent(nn.Module):  # type: ignore[name-defined]  # torch is passed in, untyped
        """A stack of layer-normalized cells with ``torch.nn.LSTM``'s interface."""

        rnnkit_cell: str = ""
        num_gates: int = 0
        parts: tuple[str, ...] = ()

        def __init__(
            self,
            input_size: int,
            hidden_size: int,
            num_layers: int = 1,
            bias: bool = True,
            batch_first: bool = False,
            dropout: float = 0.0,
            bidirectional: bool = False,
            dtype: Any = None,
        ) -> None:
            super().__init__()
            self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
            self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
            self.bidirectional = bidirectional
            H, G, D = hidden_size, self.num_gates * hidden_size, 2 if bidirectional else 1
            k = hidden_size**-0.5
            for layer in range(num_layers):
                for d in range(D):
                    sfx = f"_l{layer}" + ("_reverse" if d else "")
                    size_in = input_size if layer == 0 else D * H
                    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (G, size_in), "weight_hh": (G, H)}
                    if bias:
                        shapes.update(bias_ih=(G,), bias_hh=(G,))
                    for name, shape in shapes.items():  # torch.nn.LSTM's initialization
                        w = torch.empty(shape, dtype=dtype).uniform_(-k, k)
                        self.register_parameter(name + sfx, nn.Parameter(w))
                    for part in self.parts:  # torch.nn.LayerNorm's: ones and zeros
                        n = H if part == "c" else G
                        self.register_parameter(f"ln_{part}_weight{sfx}", nn.Parameter(torch.ones(n, dtype=dtype)))
                        if bias:
                            self.register_parameter(f"ln_{part}_bias{sfx}", nn.Parameter(torch.zeros(n, dtype=dtype)))

        def _ln(self, v: Any, part: str, sfx: str) -> Any:
            bias = getattr(self, f"ln_{part}_bias{sfx}") if self.bias else None
            return F.layer_norm(v, (v.shape[-1],), getattr(self, f"ln_{part}_weight{sfx}"), bias, eps=1e-5)

        def _proj(self, v: Any, which: str, sfx: str) -> Any:
            out = self._ln(v @ getattr(self, f"weight_{which}{sfx}").T, which, sfx)  # (B, G)
            return out + getattr(self, f"bias_{which}{sfx}") if self.bias else out

        def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
            packed = isinstance(input, rnn_utils.PackedSequence)
            if packed:
                x, lengths = rnn_utils.pad_packed_sequence(input)  # (T, B, I), rows in the caller's order
            else:
                x, lengths = (input.transpose(0, 1) if self.batch_first else input), None
            T, B = x.shape[0], x.shape[1]
            D, H = 2 if self.bidirectional else 1, self.hidden_size
            if lengths is None:
                mask = torch.ones(T, B, 1, dtype=x.dtype)
            else:
                mask = (torch.arange(T)[:, None] < lengths[None, :]).to(x.dtype)[:, :, None]  # (T, B, 1)
            zeros = torch.zeros(self.num_layers * D, B, H, dtype=x.dtype)
            lstm = "c" in self.parts
            if hx is None:
                h0, c0 = zeros, zeros
            else:
                h0, c0 = hx if lstm else (hx, zeros)
            finals_h, finals_c, layer_in = [], [], x
            for layer in range(self.num_layers):
                outs = []
                for d in range(D):
                    sfx = f"_l{layer}" + ("_reverse" if d else "")
                    h, c = h0[layer * D + d], c0[layer * D + d]  # (B, H)
                    ys: list[Any] = [None] * T
                    for t in range(T - 1, -1, -1) if d else range(T):
                        h_new, c_new = self._step(layer_in[t], h, c, sfx)
                        m = mask[t]  # (B, 1): past a row's end its state is held
                        h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
                        ys[t] = m * h_new
                    outs.append(torch.stack(ys))  # (T, B, H)
                    finals_h.append(h)
                    finals_c.append(c)
                layer_in = torch.cat(outs, dim=-1)  # (T, B, D*H)
                if self.dropout and self.training and layer < self.num_layers - 1:
                    layer_in = F.dropout(layer_in, self.dropout, training=True)
            h_n = torch.stack(finals_h)  # (L*D, B, H)
            state = (h_n, torch.stack(finals_c)) if lstm else h_n
            if packed:
                return rnn_utils.pack_padded_sequence(layer_in, lengths, enforce_sorted=False), state
            return (layer_in.transpose(0, 1) if self.batch_first else layer_in), state

        def extra_repr(self) -> str:
            return (
                f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}, "
                f"batch_first={self.batch_first}, dropout={self.dropout}, bidirectional={self.bidirectional}"
            )

    class LNLSTM(_LNRecurrent):
        """a = LN(W_ih x) + LN(W_hh h) + b_ih + b_hh; c = f c + i g; h = o tanh(LN(c))."""

        rnnkit_cell, num_gates, parts, mode = "ln_lstm", 4, ("ih", "hh", "c"), "LN_LSTM"

        def _step(self, x: Any, h: Any, c: Any, sfx: str) -> tuple[Any, Any]:
            a = self._proj(x, "ih", sfx) + self._proj(h, "hh", sfx)  # (B, 4H)
            i, f, g, o = a.chunk(4, dim=-1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(self._ln(c_new, "c", sfx)), c_new

    class LNGRU(_LNRecurrent):
        """u = LN(W_ih x) + b_ih, v = LN(W_hh h) + b_hh; r, z, n as torch.nn.GRU's."""

        rnnkit_cell, num_gates, parts, mode = "ln_gru", 3, ("ih", "hh"), "LN_GRU"

        def _step(self, x: Any, h: Any, c: Any, sfx: str) -> tuple[Any, Any]:
            ur, uz, un = self._proj(x, "ih", sfx).chunk(3, dim=-1)  # (B, H) each
            vr, vz, vn = self._proj(h, "hh", sfx).chunk(3, dim=-1)
            r, z = torch.sigmoid(ur + vr), torch.sigmoid(uz + vz)
            n = torch.tanh(un + r * vn)
            return (1 - z) * n + z * h, c

    return {"LNLSTM": LNLSTM, "LNGRU": LNGRU}
