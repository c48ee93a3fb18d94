"""``rnnkit gradcheck``: hand-written BPTT against central differences, for any layer.

:func:`check_layer` builds a float64 recurrent layer, draws an input, an initial state and
a random linear loss of the outputs and the final state,

    L = sum(W_out * out) + sum(W_h * h_n) [+ sum(W_c * c_n)],

and compares the analytic gradient of every parameter, of the input and of the initial
state with central differences ``(L(p + eps) - L(p - eps)) / (2 eps)``. The error of each
tensor is the scale-free ``||a - n|| / max(||a|| + ||n||, 1e-12)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from ..nn.cells.registry import cell_names
from ._base import EXIT_FAILURE, EXIT_OK, CliError, Command, Console, UsageError, examples

ALIASES = {"rnn": "rnn_tanh"}  # a short name the command also takes


def cells() -> tuple[str, ...]:
    """The cells the command checks: every registered one (read live, so a cell registered
    later is offered) and the aliases."""
    return (*ALIASES, *cell_names())


@dataclass
class GradResult:
    name: str  # parameter name, "input" or "h0"/"c0"
    shape: tuple
    rel_error: float  # ||analytic - numeric|| / (||analytic|| + ||numeric||)
    max_abs_error: float


def check_layer(
    cell: str = "lstm",
    *,
    input_size: int = 3,
    hidden_size: int = 4,
    num_layers: int = 1,
    bidirectional: bool = False,
    steps: int = 5,
    batch: int = 2,
    lengths=None,
    bias: bool = True,
    batch_first: bool = False,
    eps: float = 1e-6,
    seed: int = 0,
) -> list[GradResult]:
    """Compare the layer's backward with central differences; one result per tensor.

    ``lengths`` (one per batch row, each in 1..steps) exercises variable-length batches;
    when given, ``batch`` is ``len(lengths)`` and ``steps`` defaults to ``max(lengths)``.
    """
    if cell not in cells():
        raise ValueError(f"cell: expected one of {', '.join(cells())}, got {cell!r}")
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.int64)
        batch = len(lengths)
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(
                f"lengths: expected values in 1..{steps} (the --steps), got "
                f"{lengths.tolist()}; hint: raise --steps or shorten --lengths"
            )
    rng = np.random.default_rng(seed)
    layer = nn.make_layer(
        ALIASES.get(cell, cell),
        input_size,
        hidden_size,
        num_layers,
        bias=bias,
        batch_first=batch_first,
        bidirectional=bidirectional,
        dtype="float64",
        rng=rng,
    )
    D = 2 if bidirectional else 1
    shape_x = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = rng.standard_normal(shape_x)
    lstm = layer.cell.has_cell_state  # the state is (h, c)
    h0 = 0.5 * rng.standard_normal((num_layers * D, batch, hidden_size))
    c0 = 0.5 * rng.standard_normal(h0.shape) if lstm else None
    out_shape = shape_x[:2] + (D * hidden_size,)
    w_out, w_h = rng.standard_normal(out_shape), rng.standard_normal(h0.shape)
    w_c = rng.standard_normal(h0.shape) if lstm else None
    state0: np.ndarray | tuple[np.ndarray, np.ndarray] = (h0, c0) if c0 is not None else h0
    dstate: np.ndarray | tuple[np.ndarray, np.ndarray] = (w_h, w_c) if w_c is not None else w_h

    def loss() -> float:
        out, state, _ = layer.forward(x, state0, lengths=lengths)
        h_n, c_n = state if isinstance(state, tuple) else (state, None)
        total = np.sum(w_out * out) + np.sum(w_h * h_n)
        return float(total + (np.sum(w_c * c_n) if w_c is not None and c_n is not None else 0.0))

    layer.zero_grad()
    out, state, cache = layer.forward(x, state0, lengths=lengths)
    dx, dstate0 = layer.backward(w_out, dstate, cache)
    dh0, dc0 = dstate0 if isinstance(dstate0, tuple) else (dstate0, None)
    analytic = [(name, grad.copy(), param) for name, param, grad in layer.named_parameters()]
    analytic += [("input", dx, x), ("h0", dh0, h0)]
    if dc0 is not None and c0 is not None:
        analytic.append(("c0", dc0, c0))
    results = []
    for name, grad, target in analytic:
        numeric = _central_differences(loss, target, eps)
        results.append(
            GradResult(name, tuple(target.shape), _rel_error(grad, numeric), float(np.max(np.abs(grad - numeric))))
        )
    return results


def _central_differences(f, x: np.ndarray, eps: float) -> np.ndarray:
    """dL/dx by central differences, perturbing ``x`` in place and restoring it."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)  # views: x is contiguous
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def _rel_error(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(a) + np.linalg.norm(b)), 1e-12))


# -- the command -------------------------------------------------------------------------
def _lengths(text: str):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise UsageError(f"--lengths: expected comma-separated integers such as 5,3,2; got {text!r}")
    return values


def add_arguments(p) -> None:
    p.add_argument("--cell", default="lstm", choices=cells(), help="recurrent cell (default: lstm)")
    p.add_argument("--layers", type=int, default=1, metavar="L", help="stacked layers (default: 1)")
    p.add_argument("--bidirectional", action="store_true", help="a bidirectional layer")
    p.add_argument("--hidden", type=int, default=4, metavar="H", help="hidden units (default: 4)")
    p.add_argument("--input", type=int, default=3, metavar="I", help="input features (default: 3)")
    p.add_argument("--steps", type=int, default=None, metavar="T", help="time steps (default: 5, or max of --lengths)")
    p.add_argument("--batch", type=int, default=2, metavar="B", help="batch rows (default: 2)")
    p.add_argument(
        "--lengths",
        type=str,
        default=None,
        metavar="N,N,...",
        help="variable lengths, one per batch row (sets the batch size)",
    )
    p.add_argument("--no-bias", action="store_true", help="a layer without biases")
    p.add_argument("--batch-first", action="store_true", help="inputs laid out (B, T, I)")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (default: 1e-6)")
    p.add_argument("--tol", type=float, default=1e-6, help="largest relative error accepted (default: 1e-6)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def run(args) -> int:
    for flag in ("layers", "hidden", "input", "batch"):
        if getattr(args, flag) < 1:
            raise CliError(f"--{flag}: expected an integer >= 1, got {getattr(args, flag)}")
    lengths = _lengths(args.lengths) if args.lengths is not None else None
    steps = args.steps if args.steps is not None else (max(lengths) if lengths else 5)
    if steps < 1:
        raise CliError(f"--steps: expected an integer >= 1, got {steps}")
    if not args.eps > 0:
        raise CliError(f"--eps: expected a number > 0, got {args.eps}")
    console = Console(args.quiet)
    results = check_layer(
        args.cell,
        input_size=args.input,
        hidden_size=args.hidden,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        steps=steps,
        batch=args.batch,
        lengths=lengths,
        bias=not args.no_bias,
        batch_first=args.batch_first,
        eps=args.eps,
        seed=args.seed,
    )
    config = (
        f"{args.cell}, layers={args.layers}, hidden={args.hidden}, input={args.input}, "
        f"steps={steps}, batch={len(lengths) if lengths else args.batch}"
        + (f", lengths={lengths}" if lengths else "")
        + (", bidirectional" if args.bidirectional else "")
        + (", no bias" if args.no_bias else "")
        + ", float64"
    )
    console.result(f"gradient check: {config}")
    console.result(f"{'tensor':<24} {'shape':<14} {'rel. error':>11} {'max abs err':>12}")
    worst = max(results, key=lambda r: r.rel_error)
    for r in results:
        flag = "  FAIL" if r.rel_error > args.tol else ""
        console.result(f"{r.name:<24} {str(r.shape):<14} {r.rel_error:11.2e} {r.max_abs_error:12.2e}{flag}")
    verdict = "PASS" if worst.rel_error <= args.tol else "FAIL"
    console.result(f"{verdict}: worst relative error {worst.rel_error:.2e} ({worst.name}); tolerance {args.tol:.0e}")
    return EXIT_OK if verdict == "PASS" else EXIT_FAILURE


COMMAND = Command(
    name="gradcheck",
    help="check hand-written gradients against central differences",
    description=(
        "Build a float64 RNN/LSTM/GRU layer of any configuration and compare the "
        "gradient of every parameter, of the input and of the initial state with "
        "central differences. Prints the relative error per tensor; exits with 1 "
        "when the worst is above --tol."
    ),
    add_arguments=add_arguments,
    run=run,
    epilog=examples(
        "rnnkit gradcheck --cell lstm",
        "rnnkit gradcheck --cell gru --layers 2 --bidirectional --lengths 5,3,1",
        "rnnkit gradcheck --cell rnn_relu --no-bias --batch-first --steps 8",
    ),
)
