"""benchmarks/onnx_inference.py runs end to end (tiny size), after its parity check."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="the benchmark times onnxruntime")
pytest.importorskip("torch", reason="the benchmark times PyTorch")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "onnx_inference.py"


def test_benchmark_prints_one_row_per_size(capsys):
    spec = importlib.util.spec_from_file_location("onnx_inference", _PATH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.SETTLE_S = 0.0
    assert bench.main(["--rounds", "3", "--sizes", "5/2/3/4,3/1/2/2", "--threads", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 5/") or line.startswith("| 3/")]
    assert len(rows) == 2 and all(line.count("|") == 7 for line in rows)
