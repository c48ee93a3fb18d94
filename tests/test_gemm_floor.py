"""The GEMM-floor benchmark times the products the engine issues: the same FLOPs, runnable."""

import importlib.util
from pathlib import Path

import pytest

from rnnkit.bench._timing import step_flops

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "gemm_floor.py"


@pytest.fixture(scope="module")
def floor():
    spec = importlib.util.spec_from_file_location("gemm_floor", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "cell,layers,directions",
    [("RNN", 1, 1), ("LSTM", 1, 1), ("GRU", 1, 1), ("LSTM", 2, 2), ("GRU", 2, 2), ("RNN", 3, 1)],
)
def test_floor_counts_the_engines_flops(floor, cell, layers, directions):
    T, B, I, H = 5, 3, 7, 6
    run, flops = floor.products(cell, T, B, I, H, layers, directions)
    assert flops == step_flops(cell, T, B, I, H, layers, directions)
    run()  # every product has consistent shapes (NumPy raises otherwise)


def test_floor_refuses_to_run_without_torch(floor, monkeypatch, capsys):
    monkeypatch.setattr(floor, "_try_import", lambda name: None)
    assert floor.main(["--cases", "RNN"]) == 2
    assert "needs PyTorch" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--cases", "FOO"], "--cases: expected names from RNN, LSTM, GRU"),
        (["--threads", "0"], "expected a positive int, got '0'"),
    ],
)
def test_floor_refuses_bad_arguments_by_name(floor, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        floor.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
