"""Seeing vanishing and exploding gradients: gradient flow, weight and gate health, warnings.

    flow         ||dL/dh_t|| per time step, collected over training (GradFlow)
    health       rho and sigma_max of W_hh, gate saturation, gradient/update norms, memory horizon
    warnings     rules -> findings with likely cause and remedy; GradientWarning
    monitor      DiagnosticsMonitor: every N steps during training, zero cost in between
                 (.callback() for rnnkit.train.Trainer's hooks; attach: a Monitored wrapper
                 for a loop of your own; watch_fit for an estimator)
    report       a report folder: heatmap, spectral radius, saturation, summary.txt/json
    activations  hidden/gate values over a text; ranking interpretable cells
    visualize    the text coloured by a cell's value, as a self-contained HTML page
    cells        the most interpretable cells of a character model: ranking + page

Only NumPy is imported here; matplotlib loads inside the plotting functions.
"""

from ._layers import recurrent_layers
from .activations import (
    char_model_activations,
    correlations,
    hidden_activations,
    rank_cells,
    text_activations,
    text_features,
)
from .attach import Monitored, attach, detach, watch_fit
from .callback import DiagnosticsCallback
from .cells import interpretable_cells_report
from .flow import GradFlow, read_grad_flow, set_recording, steps_back
from .health import (
    decay_ratio,
    gate_saturation,
    grad_norms,
    largest_singular_value,
    memory_horizon,
    param_norms,
    recurrent_weight_health,
    spectral_radius,
    update_norms,
)
from .monitor import DiagnosticsMonitor, DiagnosticsRecord
from .report import summarize, write_report
from .visualize import activation_html, interpretable_cells_html, write_activation_html
from .warnings import (
    Finding,
    GradientWarning,
    Thresholds,
    check_flow,
    check_grad_norms,
    check_loss,
    check_saturation,
    diagnose,
    warn,
)

__all__ = [
    "GradFlow",
    "read_grad_flow",
    "set_recording",
    "steps_back",
    "spectral_radius",
    "largest_singular_value",
    "recurrent_weight_health",
    "gate_saturation",
    "grad_norms",
    "param_norms",
    "update_norms",
    "memory_horizon",
    "decay_ratio",
    "Finding",
    "GradientWarning",
    "Thresholds",
    "check_flow",
    "check_grad_norms",
    "check_loss",
    "check_saturation",
    "diagnose",
    "warn",
    "DiagnosticsMonitor",
    "DiagnosticsRecord",
    "summarize",
    "write_report",
    "hidden_activations",
    "text_activations",
    "text_features",
    "correlations",
    "rank_cells",
    "activation_html",
    "write_activation_html",
    "interpretable_cells_html",
    "recurrent_layers",
    "char_model_activations",
    "interpretable_cells_report",
    "DiagnosticsCallback",
    "Monitored",
    "attach",
    "detach",
    "watch_fit",
]
