"""Rules that turn diagnostic numbers into warnings naming the likely cause and the remedy.

Each rule looks at one kind of evidence and returns a list of :class:`Finding`:

* vanishing    ||dL/dh_{t0-k}|| at the far end of the sequence is below ``vanish_ratio``
               of its value at the loss end t0 (default 1e-3);
* exploding    the same ratio is above ``explode_ratio`` (default 1e3), or the global
               gradient norm jumps ``norm_growth`` times above its recent median;
* nonfinite    NaN or inf in the loss, a gradient norm or a per-step norm;
* saturation   more than ``saturation`` (default 0.5) of a gate's activations sit within
               eps of a flat end of their sigmoid/tanh, where the slope is ~0 and neither
               gradient nor learning gets through. A forget gate (LSTM f) or update gate
               (GRU z) held near 1 is memory at work, so only its near-0 side counts. ReLU
               units are zero about half the time by design; they count as dead above
               ``dead_relu`` (default 0.9).

The ratio rules read the gradient of a loss at the end of the sequence (many-to-one,
the adding problem, a classifier). With a loss at every step each dL/dh_t has its own
local term and the far-end ratio stays near 1, so those rules stay quiet by design.

:func:`warn` emits findings as :class:`GradientWarning` through Python's ``warnings``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..nn.cells import cell_spec
from .flow import GradFlow
from .health import decay_ratio, memory_horizon


class GradientWarning(UserWarning):
    """A training-health warning from rnnkit.diagnostics (vanishing, exploding, saturation)."""


@dataclass(frozen=True)
class Thresholds:
    vanish_ratio: float = 1e-3
    explode_ratio: float = 1e3
    norm_growth: float = 1e2
    saturation: float = 0.5
    horizon_fraction: float = 0.01
    dead_relu: float = 0.9

    def __post_init__(self) -> None:
        for name in ("vanish_ratio", "horizon_fraction", "saturation", "dead_relu"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v < 1):
                raise ValueError(f"{name}: expected a number in (0, 1), got {v!r}")
        for name in ("explode_ratio", "norm_growth"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 1):
                raise ValueError(f"{name}: expected a number > 1, got {v!r}")


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what was seen, where, the likely cause and what to do about it."""

    kind: str  # "vanishing" | "exploding" | "nonfinite" | "saturation"
    where: str  # a series key ("rnn.h_l0"), a layer key, or "loss"
    message: str
    cause: str
    remedy: str
    step: int | None = None
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        title = _TITLES.get(self.kind, self.kind)
        at = f" (step {self.step})" if self.step is not None else ""
        return f"{title}{at} at {self.where}: {self.message}\n  likely cause: {self.cause}\n  remedy: {self.remedy}"

    def to_dict(self) -> dict:
        return asdict(self)


# -- causes and remedies -----------------------------------------------------------------
_TITLES = {
    "vanishing": "vanishing gradients",
    "exploding": "exploding gradients",
    "nonfinite": "non-finite values",
    "saturation": "saturated gates",
}
_VANISH_CAUSE = {
    "RNN": (
        "each step back multiplies the gradient by diag(act') W_hh; with sigma_max(W_hh) < 1 "
        "or saturated units that product shrinks exponentially"
    ),
    "LSTM": (
        "the cell state carries the gradient back through c_{t-1} = c_t * f_t, so it shrinks like the "
        "product of the forget gates; with f_t well below 1 (a zero forget bias gives f ~ 0.5) and a "
        "weak W_hh path it vanishes exponentially"
    ),
    "GRU": (
        "the gradient passes back through z_t * h_{t-1} and through W_hh; with update gates z_t well "
        "below 1 and a contracting W_hh it shrinks exponentially"
    ),
}
_VANISH_REMEDY = {
    "RNN": (
        "use an LSTM or GRU; or initialize W_hh orthogonal (rho = 1) or as the identity with ReLU "
        "units (init preset 'irnn', Le et al. 2015); keep clipping on when you raise rho"
    ),
    "LSTM": (
        "set the forget-gate bias to 1 (rnnkit.nn.init.initialize(..., forget_bias=1.0)) so the cell "
        "state carries the gradient; initialize W_hh orthogonal; look for saturated gates"
    ),
    "GRU": "initialize W_hh orthogonal; look for saturated update/reset gates; consider an LSTM with forget bias 1",
}
_EXPLODE_CAUSE = (
    "each step back multiplies the gradient by diag(act') W_hh; with rho(W_hh) > 1 and units "
    "in their linear range that product grows exponentially"
)
_EXPLODE_REMEDY = (
    "clip the global gradient norm (clip_norm between 1 and 5), lower the learning rate, "
    "initialize W_hh orthogonal so rho(W_hh) = 1; LSTM/GRU are less prone"
)
_NONFINITE_CAUSE = "exploding gradients or a too large learning rate overflowed the weights or the loss"
_NONFINITE_REMEDY = (
    "restart from the last good checkpoint with gradient clipping (clip_norm=1) and a learning "
    "rate 3-10x smaller; check the inputs and targets for NaN/inf"
)
_SAT_CAUSE = (
    "large pre-activations (inputs or weights too large, or a learning rate high enough to push "
    "units into the flat ends of sigmoid/tanh, where the derivative is ~0)"
)
_SAT_REMEDY = (
    "standardize the inputs, lower the learning rate, use a smaller initialization scale "
    "(Xavier or orthogonal), clip gradients"
)


def _family(mode: str | None) -> str:
    # The explanations above are written for the gated cells by their layer mode; every other
    # cell (the Elman RNNs, any registered one) gets the general one: diag(act') W_hh per step.
    return mode if mode in _VANISH_CAUSE else "RNN"


def _relu_units(mode: str | None) -> bool:
    """Whether the cell of ``mode`` has ReLU units (dead at zero rather than saturated), as its spec says."""
    try:
        activations = cell_spec(mode).activations if mode else None
    except ValueError:  # a record of a cell that is not registered here
        return False
    return activations is not None and set(activations) == {"relu"}


# -- rules --------------------------------------------------------------------------------
def check_flow(
    key: str,
    norms: ArrayLike,
    *,
    mode: str | None = None,
    step: int | None = None,
    thresholds: Thresholds | None = None,
    weights: Mapping | None = None,
) -> list[Finding]:
    """Vanishing / exploding / non-finite rules on one (T,) series of ||dL/dh_t||.

    ``mode`` (RNN_TANH, LSTM, ...) picks the remedy; ``weights`` (an entry of
    :func:`~rnnkit.diagnostics.health.recurrent_weight_health`) adds rho and sigma_max as evidence.
    """
    th = thresholds or Thresholds()
    norms = np.asarray(norms, dtype=np.float64)
    evidence: dict[str, Any] = {"T": int(norms.size)}
    if weights is not None:
        evidence.update(spectral_radius=weights.get("spectral_radius"), max_singular=weights.get("max_singular"))
    bad = ~np.isfinite(norms)
    if bad.any():
        evidence["nonfinite_steps"] = int(bad.sum())
        return [
            Finding(
                "nonfinite",
                key,
                f"||dL/dh_t|| is NaN or inf at {int(bad.sum())} of {norms.size} steps",
                _NONFINITE_CAUSE,
                _NONFINITE_REMEDY,
                step,
                evidence,
            )
        ]
    ratio = decay_ratio(norms, key)
    if math.isnan(ratio) or norms.size < 2:
        return []
    horizon = memory_horizon(norms, th.horizon_fraction, key)
    evidence.update(ratio=ratio, horizon=horizon, horizon_fraction=th.horizon_fraction)
    T = norms.size
    if ratio < th.vanish_ratio:
        h = "beyond the sequence" if math.isinf(horizon) else f"{horizon:.0f} steps"
        return [
            Finding(
                "vanishing",
                key,
                f"the gradient {T - 1} steps back from the loss is {ratio:.1e} of its value at the loss "
                f"(memory horizon at {th.horizon_fraction:g}: {h} of {T})",
                _VANISH_CAUSE[_family(mode)] + _rho_note(weights),
                _VANISH_REMEDY[_family(mode)],
                step,
                evidence,
            )
        ]
    if ratio > th.explode_ratio:
        return [
            Finding(
                "exploding",
                key,
                f"the gradient grows {ratio:.1e}x over {T - 1} steps back from the loss",
                _EXPLODE_CAUSE + _rho_note(weights),
                _EXPLODE_REMEDY,
                step,
                evidence,
            )
        ]
    return []


def _rho_note(weights: Mapping | None) -> str:
    if not weights:
        return ""
    rho, sig = weights.get("spectral_radius"), weights.get("max_singular")
    parts = []
    if rho is not None:
        parts.append(f"rho(W_hh) = {rho:.3g}")
    if sig is not None:
        parts.append(f"sigma_max(W_hh) = {sig:.3g}")
    return f" (here {', '.join(parts)})" if parts else ""


def check_loss(loss: float | None, *, step: int | None = None) -> list[Finding]:
    """A NaN or inf loss."""
    if loss is None or math.isfinite(float(loss)):
        return []
    return [
        Finding(
            "nonfinite",
            "loss",
            f"the loss is {float(loss)}",
            _NONFINITE_CAUSE,
            _NONFINITE_REMEDY,
            step,
            {"loss": float(loss)},
        )
    ]


def check_grad_norms(
    history: Sequence[float], *, step: int | None = None, thresholds: Thresholds | None = None, window: int = 20
) -> list[Finding]:
    """The newest global gradient norm: non-finite, or ``norm_growth`` x its recent median.

    ``history`` holds the pre-clip global norms in order; the last entry is judged against
    the median of up to ``window`` before it (at least 5 needed for the growth rule).
    """
    th = thresholds or Thresholds()
    if len(history) == 0:
        return []
    last = float(history[-1])
    if not math.isfinite(last):
        return [
            Finding(
                "nonfinite",
                "gradient norm",
                f"the global gradient norm is {last}",
                _NONFINITE_CAUSE,
                _NONFINITE_REMEDY,
                step,
                {"grad_norm": last},
            )
        ]
    prev = np.asarray(history[-1 - window : -1], dtype=np.float64)
    prev = prev[np.isfinite(prev)]
    if prev.size < 5:
        return []
    median = float(np.median(prev))
    if median > 0 and last > th.norm_growth * median:
        return [
            Finding(
                "exploding",
                "gradient norm",
                f"the global gradient norm jumped to {last:.3g}, {last / median:.0f}x its recent median {median:.3g}",
                "a step of the exploding kind: the recurrence amplified one batch's gradient",
                _EXPLODE_REMEDY,
                step,
                {"grad_norm": last, "median": median},
            )
        ]
    return []


def check_saturation(
    layer_key: str,
    gates: Mapping[str, Mapping[str, float]],
    *,
    mode: str | None = None,
    step: int | None = None,
    thresholds: Thresholds | None = None,
) -> list[Finding]:
    """Gates whose saturated fraction exceeds ``thresholds.saturation``.

    ``gates`` is one entry of :func:`~rnnkit.diagnostics.health.gate_saturation`.
    """
    th = thresholds or Thresholds()
    # the gate whose value near 1 is memory at work, by the gated cells' equations (see above)
    memory_gate = {"LSTM": "f", "GRU": "z"}.get(mode or "")
    limit = th.dead_relu if _relu_units(mode) else th.saturation
    hot = {}
    for gate, frac in gates.items():
        value = frac["low"] if gate == memory_gate else frac["total"]
        if value > limit:
            hot[gate] = value
    if not hot:
        return []
    listing = ", ".join(f"{g} {v:.0%}" for g, v in hot.items())
    return [
        Finding(
            "saturation",
            layer_key,
            f"saturated fraction above {limit:.0%}: {listing}",
            _SAT_CAUSE,
            _SAT_REMEDY,
            step,
            {"saturated": hot},
        )
    ]


def diagnose(
    *,
    flow: Mapping[str, np.ndarray] | GradFlow | None = None,
    modes: Mapping[str, str] | None = None,
    health: Mapping[str, Mapping] | None = None,
    saturation: Mapping[str, Mapping] | None = None,
    loss: float | None = None,
    grad_norm_history: Sequence[float] = (),
    step: int | None = None,
    thresholds: Thresholds | None = None,
) -> list[Finding]:
    """Run every rule on whatever evidence is given.

    Args:
        flow: series key -> (T,) norms (one backward), or a :class:`GradFlow` (its latest row).
        modes: layer prefix -> mode (``{"rnn": "RNN_TANH"}``), for the remedies.
        health: :func:`recurrent_weight_health` output, for evidence.
        saturation: layer key ("rnn.l0") -> gate -> fractions, from :func:`gate_saturation`.
        loss: the newest loss.
        grad_norm_history: the pre-clip global gradient norms so far.
        step: the step number.
    Only ``h_*`` series are judged (the LSTM's ``c_*`` series are reported, not judged, to
    avoid saying the same thing twice).
    """
    th = thresholds or Thresholds()
    modes = dict(modes or {})
    findings = check_loss(loss, step=step) + check_grad_norms(grad_norm_history, step=step, thresholds=th)
    if isinstance(flow, GradFlow):
        flow = {k: flow.latest(k) for k in flow}
    for key, norms in (flow or {}).items():
        prefix, _, series = key.rpartition(".")
        if not series.startswith("h_"):
            continue
        wname = (prefix + "." if prefix else "") + "weight_hh_" + series[2:]
        findings += check_flow(
            key, norms, mode=modes.get(prefix), step=step, thresholds=th, weights=(health or {}).get(wname)
        )
    for key, gates in (saturation or {}).items():
        prefix = key.rpartition(".")[0]
        findings += check_saturation(key, gates, mode=modes.get(prefix), step=step, thresholds=th)
    return findings


def warn(findings: Sequence[Finding], stacklevel: int = 2) -> None:
    """Emit each finding as a :class:`GradientWarning` (filter them with the ``warnings`` module)."""
    for f in findings:
        warnings.warn(str(f), GradientWarning, stacklevel=stacklevel + 1)
