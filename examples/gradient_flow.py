"""Watch the gradient vanish in a tanh RNN and survive in an LSTM, on the adding problem.

    python examples/gradient_flow.py [T] [steps]

Trains both cells for a few hundred steps at sequence length T (default 100) with a
DiagnosticsMonitor attached, prints the warnings it raises as they appear (with their
likely cause and remedy), and writes one report folder per cell under
diagnostics-example/ (heatmap of ||dL/dh_t|| over time step x training step, spectral
radius over training, gate saturation, summary.txt).
"""

import sys
import warnings

from rnnkit.diagnostics import GradientWarning
from rnnkit.experiments.probe import diagnose_adding


def main(T: int = 100, steps: int = 300) -> None:
    warnings.simplefilter("always", GradientWarning)
    for cell, lr in (("rnn_tanh", 0.01), ("lstm", 0.005)):
        print(f"--- {cell}, T = {T} ---")
        folder, summary = diagnose_adding(
            f"diagnostics-example/{cell}-T{T}",
            cell=cell,
            T=T,
            steps=steps,
            every=10,
            optimizer="adam",
            lr=lr,
            clip_norm=1.0,
            warn=True,
        )
        flow = next(iter(summary["gradient_flow"].values()))
        print(
            f"{summary['verdict']}; loss {summary['loss']['first']:.3f} -> {summary['loss']['last']:.3f}; "
            f"gradient reaching the first step: {flow['decay_ratio_first']:.2e} of its value at the loss "
            f"(after training {flow['decay_ratio_last']:.2e}); report in {folder}/"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
