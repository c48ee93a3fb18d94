"""The comparison every interop test makes: the other runtime's output against rnnkit's."""

import numpy as np


def assert_close(a, b, tol):
    """max |a - b| / (1 + |b|) < tol, with equal shapes; torch tensors are read as arrays."""
    a = a.detach().numpy() if hasattr(a, "detach") else a
    b = b.detach().numpy() if hasattr(b, "detach") else b
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.max(np.abs(a - b) / (1.0 + np.abs(b)))
    assert err < tol, err


def onnx_session(path):
    """An onnxruntime session on the CPU for the graph at ``path``, after the ONNX checker's
    full check (quiet logs)."""
    import onnx
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
