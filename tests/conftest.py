import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_numpy():
    """Floating-point trouble (overflow, invalid, divide by zero) is an error in tests."""
    old = np.seterr(all="raise", under="ignore")
    yield
    np.seterr(**old)
