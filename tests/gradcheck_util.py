"""Float64 central differences for the tests (not part of the package's public API)."""

import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """dL/dx of the scalar f() by central differences, perturbing x in place."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def rel_error(a, b):
    """||a - b|| / max(||a|| + ||b||, 1e-12): a scale-free distance between two gradients."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))
