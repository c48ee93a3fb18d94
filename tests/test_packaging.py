"""Packaging: the license file matches the metadata, the package is typed, extras are declared."""

import inspect
import tomllib
from pathlib import Path

import pytest

from rnnkit import models, nn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_file_matches_the_metadata():
    project = PYPROJECT["project"]
    assert project["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]


def test_py_typed_ships_with_the_package():
    assert (ROOT / "src" / "rnnkit" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["rnnkit"]


def test_optional_dependencies_are_extras_and_in_test():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert extras["torch"] == ["torch==2.13.0"]
    assert {d.split(">")[0] for d in extras["onnx"]} == {"onnx", "onnxruntime"}
    assert [d.split(">")[0] for d in extras["pandas"]] == ["pandas"]
    test = {d.split(">")[0].split("=")[0] for d in extras["test"]}
    assert {"onnx", "onnxruntime", "torch", "pandas", "safetensors", "polars"} <= test
    # the trackers, and the reader their tests check them with
    assert extras["tensorboard"] == ["tensorboardX>=2.6"] and extras["mlflow"] == ["mlflow-skinny>=2.9"]
    assert {"tensorboardX", "tensorboard", "mlflow-skinny"} <= test
    assert PYPROJECT["project"]["dependencies"] == ["numpy>=1.24"]


PUBLIC = [
    (cls, name)
    for cls in (
        models.SequenceClassifier,
        models.SequenceRegressor,
        models.SequenceTagger,
        models.FeedForward,
        models.Seq2Seq,
        models.CharLM,
        models.SequenceGenerator,
    )
    for name in ("fit", "predict")
] + [(nn.Linear, "forward"), (nn.Embedding, "forward"), (models.network.SequenceNet, "forward")]


@pytest.mark.parametrize("cls,name", PUBLIC, ids=[f"{c.__name__}.{n}" for c, n in PUBLIC])
def test_public_fit_predict_forward_are_annotated(cls, name):
    fn = getattr(cls, name)
    if isinstance(fn, property):
        fn = fn.fget
    sig = inspect.signature(fn)
    assert sig.return_annotation is not inspect.Signature.empty
