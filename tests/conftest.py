import os

import numpy as np
import pytest

# Runs are compared bit for bit across processes (resume, MPI, the command line); MKL's
# measured dispatch may choose another backend in each process, so the tests pin NumPy's BLAS
# (tests/test_gemm.py sets RNNKIT_GEMM itself for the MKL backends).
os.environ.setdefault("RNNKIT_GEMM", "openblas")


@pytest.fixture(autouse=True)
def _strict_numpy():
    """Floating-point trouble (overflow, invalid, divide by zero) is an error in tests."""
    old = np.seterr(all="raise", under="ignore")
    yield
    np.seterr(**old)
