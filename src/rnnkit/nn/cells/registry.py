"""The cell registry: every recurrent cell declared once, every list of cells derived from it.

A cell is one :class:`CellSpec`: its names (the layer mode ``"LSTM"`` and the model-level
name ``"lstm"``), its gates in PyTorch's order (their number is the gate count), the
factory of its step object (``nn/cells/<cell>.py``), the rnnkit layer class that carries
it, and what the exporters and kernels need: the ``torch.nn`` class that has it, the ONNX
operator, gate order and activation, and whether compiled kernels exist for it.

Everything else reads this registry: :func:`make_cell` and the layers' mode check
(:mod:`rnnkit.nn.recurrent`), ``rnnkit.models`` (``CELLS``, ``make_recurrent``, the
``cell`` check), the command line's ``cell`` choices, the diagnostics (the gate blocks of
W_hh and the activations behind the saturation numbers), the ONNX export and the PyTorch
bridge (a cell without ``onnx`` or ``torch`` is refused by name). A new cell is one file
declaring its spec plus one ``register_cell(...)`` line in ``nn/cells/__init__.py``::

    TOY = CellSpec("toy", "TOY", ToyCell, gates="h")   # in nn/cells/toy.py
    register_cell(toy.TOY)                             # in nn/cells/__init__.py

Its layers are ``rnnkit.nn.Recurrent("toy", I, H)``; estimators take ``cell="toy"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["CellSpec", "CELLS", "register_cell", "unregister_cell", "cell_spec", "cell_names", "make_cell"]


@dataclass(frozen=True)
class CellSpec:
    """One recurrent cell, declared once.

    Attributes:
        name: the model-level name, lower case ("lstm", "rnn_tanh"): ``cell=`` of the
            estimators and the command line.
        mode: the layer mode, upper case ("LSTM", "RNN_TANH"): ``layer.mode``.
        make: builds the cell's step object (``project``, ``step_forward``, ``step_backward``,
            ...; see :mod:`rnnkit.nn.cells`), called once per layer.
        gates: one letter per gate block in PyTorch's order ("ifgo", "rzn", "h"); the
            gate count is its length.
        layer: the rnnkit layer class that carries the cell ("RNN", "LSTM", "GRU", or
            "Recurrent", the generic layer), with ``layer_kwargs`` ({"nonlinearity": "tanh"}).
        torch: the ``torch.nn`` class with the same cell (it takes ``layer_kwargs`` too), a
            twin built from torch primitives (``"LNLSTM"``, ``"LNGRU"``: ``rnnkit.interop._torch_ln``),
            or None: the PyTorch bridge refuses the cell.
        onnx: the ONNX operator ("RNN", "LSTM", "GRU"); "Scan": written as ONNX primitives in
            a Scan loop (the cell's step in ``rnnkit.interop.onnx_cells``); or None: ONNX
            export refuses it.
        onnx_gates: ONNX's gate order in the letters of ``gates`` ("iofg": ONNX's i, o, f, c).
        onnx_activation: the ``activations`` attribute of an ONNX RNN node ("Tanh"), if any.
        activations: each gate's activation ("sigmoid", "tanh" or "relu"), in the order of
            ``gates``, for the diagnostics' saturation numbers; they read the activated gates
            from the cell's ``store["gates"]`` (T, B, G), or, for a one-gate cell that keeps
            none (the Elman RNN), from the hidden state. None: no saturation numbers for it.

    Compiled kernels are the step object's own business: it calls the ``kern`` module it is
    handed and offers ``online_step`` for ``layer.step``; a cell without them (``online_step``
    None, ``kern`` ignored) runs its NumPy code. :attr:`kernels` tells which.
    """

    name: str
    mode: str
    make: Callable[[], Any]
    gates: str
    layer: str = "Recurrent"
    layer_kwargs: Mapping[str, Any] = field(default_factory=dict)
    torch: str | None = None
    onnx: str | None = None
    onnx_gates: str | None = None
    onnx_activation: str | None = None
    activations: tuple[str, ...] | None = None

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    @property
    def has_cell_state(self) -> bool:
        """Whether the cell carries a cell state c beside h (its state is the pair (h, c))."""
        return bool(self.make().has_cell_state)

    @property
    def kernels(self) -> bool:
        """Whether the cell has compiled kernels (an ``online_step``)."""
        return getattr(self.make(), "online_step", None) is not None

    @property
    def onnx_order(self) -> tuple[int, ...]:
        """The rnnkit (PyTorch) gate block for each ONNX gate block, in ONNX's order."""
        return tuple(self.gates.index(g) for g in (self.onnx_gates or self.gates))


#: the gate activations a spec may declare (what the diagnostics can measure saturation of)
ACTIVATIONS = ("sigmoid", "tanh", "relu")

_CELLS: dict[str, CellSpec] = {}  # by model-level name, in registration order
_MODES: dict[str, CellSpec] = {}  # by layer mode

#: model-level name -> :class:`CellSpec`, read-only and live (a cell registered later shows)
CELLS: Mapping[str, CellSpec] = MappingProxyType(_CELLS)


def register_cell(spec: CellSpec) -> CellSpec:
    """Add ``spec`` to the registry; returns it. Its name and mode must be new."""
    if not isinstance(spec, CellSpec):
        raise TypeError(f"spec: expected a CellSpec, got {type(spec).__name__}")
    if not (spec.name and spec.name == spec.name.lower()) or not (spec.mode and spec.mode == spec.mode.upper()):
        raise ValueError(
            f"spec: expected a lower-case name and an upper-case mode, got name={spec.name!r}, mode={spec.mode!r}"
        )
    if spec.name in _CELLS or spec.mode in _MODES:
        raise ValueError(
            f"spec: a cell named {spec.name!r} or with mode {spec.mode!r} is already registered; "
            "hint: unregister_cell(name) first, or pick another name"
        )
    cell = spec.make()
    if getattr(cell, "num_gates", None) != spec.num_gates:
        raise ValueError(
            f"spec.gates: expected one letter per gate block of the cell ({getattr(cell, 'num_gates', None)}), "
            f"got {spec.gates!r}"
        )
    if spec.onnx_gates is not None and sorted(spec.onnx_gates) != sorted(spec.gates):
        raise ValueError(f"spec.onnx_gates: expected the letters of {spec.gates!r} reordered, got {spec.onnx_gates!r}")
    if spec.activations is not None and (
        len(spec.activations) != spec.num_gates or not set(spec.activations) <= set(ACTIVATIONS)
    ):
        raise ValueError(
            f"spec.activations: expected one of {', '.join(ACTIVATIONS)} per gate of {spec.gates!r}, "
            f"got {spec.activations!r}"
        )
    _CELLS[spec.name] = spec
    _MODES[spec.mode] = spec
    return spec


def unregister_cell(name: str) -> None:
    """Remove the cell registered as ``name`` (model-level name or mode)."""
    spec = cell_spec(name)
    del _CELLS[spec.name], _MODES[spec.mode]


def cell_names() -> tuple[str, ...]:
    """The model-level names of the registered cells, in registration order."""
    return tuple(_CELLS)


def cell_spec(cell: str, arg: str = "cell") -> CellSpec:
    """The spec of a cell by its model-level name ("gru") or layer mode ("GRU")."""
    spec = (_CELLS.get(cell) or _MODES.get(cell)) if isinstance(cell, str) else None
    if spec is None:
        raise ValueError(f"{arg}: expected one of {', '.join(_CELLS)}, got {cell!r}")
    return spec


def make_cell(mode: str) -> Any:  # the step object its spec makes (project, step_forward, ...)
    """A new step object for a layer mode (RNN_TANH, RNN_RELU, LSTM, GRU or a registered one)."""
    spec = _MODES.get(mode) if isinstance(mode, str) else None
    if spec is None:
        raise ValueError(f"mode: expected one of {', '.join(_MODES)}, got {mode!r}")
    return spec.make()
