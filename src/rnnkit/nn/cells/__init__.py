"""Recurrent cells: one time step each, forward and hand-written backward side by side.

Shape legend
    T  time steps          B  batch          I  input features
    H  hidden units        G  gates x H (RNN: H, LSTM: 4H, GRU: 3H)

A cell never loops over time; :mod:`rnnkit.nn.recurrent` owns the loop. To keep the large
matrix products large, the split of work is:

* ``project`` computes the input projection ``xp = x W_ih^T + b`` for all T steps at once,
  as one (T*B, I) x (I, G) product; ``recurrent_weight`` prepares W_hh once per sequence;
* ``step_forward`` adds the recurrent product and applies the gate math for one step,
  writing the new state into ``h_out`` (and ``c_out``) and what backward needs into slot
  ``t`` of the per-sequence arrays from ``allocate``;
* ``step_backward`` turns the gradient w.r.t. the new state into the gradient w.r.t. the
  pre-activations, split into the input part ``dgi`` (feeds dW_ih, db_ih and dx) and the
  recurrent part ``dgh`` (feeds dW_hh, db_hh); they differ only for the GRU. It writes
  the gradient w.r.t. the previous state into ``dh_out`` (and ``dc_out``). The driver
  forms the weight gradients after the loop, as one product over all time steps.

``hr`` is the previous hidden state as seen by the recurrent product: equal to ``h``
unless variational recurrent dropout multiplies it by a fixed per-sequence ``rec_mask``.

Speed without changing the maths:

* sigmoid(x) = (1 + tanh(x / 2)) / 2. The rows of W_ih, W_hh and the biases that feed a
  sigmoid gate are multiplied by 1/2 once per sequence (exact in floating point, a power
  of two), so one ``tanh`` over all gates and one affine map ``a * alpha + beta`` give
  every activation: two passes over (B, G) instead of one per gate.
* b_hh is folded into the input projection wherever it is added outside a product (all
  of it for RNN and LSTM, the r and z parts for the GRU).
* The elementwise gate math of one step is one call: a fused compiled kernel from
  :mod:`rnnkit._kernels` when one is active (``kern`` is not None), otherwise the NumPy
  code below, which is the reference the kernels are tested against.
* Small batches (the LSTM's ``SEQUENCE_MAX_BATCH``): ``sequence_forward`` and
  ``sequence_backward`` hand a whole sequence to one compiled kernel that runs the same
  steps without returning to Python between them; they decline (return False) without
  kernels, and the driver then loops over ``step_forward`` / ``step_backward``.
* ``step_once`` is the online step of ``layer.step``: raw weights, nothing prepared;
  ``online_step`` its compiled twin, when the cell has one.

A cell with parameters of its own beyond W_ih, W_hh, b_ih, b_hh (the layer-normalized
cells' gains and biases) declares them in ``extra_parameters`` (the layer registers them
per layer and direction), reads them in ``prepare`` (once per sequence, after ``project``:
it keeps them in the store and may rework the input projection of all steps at once) and
adds their gradients in ``weight_grads`` (after the backward loop; by default the products
described above); ``step_once`` receives them as keywords.

A new cell: a class on :class:`Cell` in ``nn/cells/<name>.py`` with the methods above and
a :class:`~rnnkit.nn.cells.registry.CellSpec`, and one ``register_cell`` line below.
"""

from __future__ import annotations

from . import gru, ln_gru, ln_lstm, lstm, rnn
from .cell import Cell
from .gru import GRUCell
from .ln_gru import LNGRUCell
from .ln_lstm import LNLSTMCell
from .lstm import LSTMCell
from .registry import CELLS, CellSpec, cell_names, cell_spec, make_cell, register_cell, unregister_cell
from .rnn import RNNCell

__all__ = [
    "Cell",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "LNLSTMCell",
    "LNGRUCell",
    "CellSpec",
    "CELLS",
    "register_cell",
    "unregister_cell",
    "cell_spec",
    "cell_names",
    "make_cell",
]

# The registry: one line per cell, in the order the choices are listed.
register_cell(lstm.LSTM)
register_cell(gru.GRU)
register_cell(rnn.RNN_TANH)
register_cell(rnn.RNN_RELU)
register_cell(ln_lstm.LN_LSTM)
register_cell(ln_gru.LN_GRU)
