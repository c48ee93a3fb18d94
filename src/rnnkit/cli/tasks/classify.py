"""``rnnkit train classify``: one label per sequence (or one number: regression).

Classification reports accuracy beside the majority class of the training labels;
regression (numeric labels, or ``objective = "regression"``) reports the mean squared
error beside always predicting the training mean. Plots: the confusion matrix.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ...data import read_pairs_tsv
from ...utils import plots
from .. import sources
from .._base import CliError, UsageError
from ..sources import DataSet
from ..task_configs import ClassifyConfig
from .task import Task, TaskData, read_text_items


def is_numeric(labels) -> bool:
    """True for float labels (regression targets). Strings and integers are classes: the
    UEA/UCR archive names classes "1", "2", ... and a CSV label column is text."""
    try:
        arr = np.asarray(labels)
    except ValueError:
        return False
    return arr.dtype.kind == "f"


def read_labelled_text(path: Path, config, notes: list):
    """text<TAB>label (or label<TAB>text, told apart by :func:`_label_first`): each
    sentence's words and its label."""
    pairs = read_pairs_tsv(path, config.encoding)
    if _label_first(pairs):
        pairs = [(b, a) for a, b in pairs]
        notes.append("the first column looks like the labels (few distinct values, no spaces): read as label<TAB>text")
    return [s.split() for s, _ in pairs], [t for _, t in pairs]


def _label_first(pairs) -> bool:
    """label<TAB>text: the first column has fewer distinct values, none with a space."""
    first = {a for a, _ in pairs}
    second = {b for _, b in pairs}
    return (
        len(first) < len(second)
        and len(first) <= max(2, len(pairs) // 4)
        and not any(" " in a.strip() for a in first)
        and any(" " in b.strip() for b in second)
    )


class ClassifyTask(Task):
    name = "classify"
    config_class = ClassifyConfig
    model_names = ("SequenceClassifier", "SequenceRegressor")
    model_module = "rnnkit.models.classifier"
    command = "rnnkit predict"
    help = "label whole sequences, or regress a number (default: waveforms)"
    remedy = "more --epochs, a larger --hidden-size, --bidirectional, --cell gru, or --preset default"
    about = "one label (or number) per sequence"
    examples = (
        "rnnkit train classify --data waveforms --cell gru",
        "rnnkit train classify --data Epilepsy_TRAIN.ts --val-data Epilepsy_TEST.ts",
        "rnnkit train classify --data adding --set data_size=5000   # regression",
        "rnnkit predict runs/classify-<stamp> --data new.ts",
    )
    datasets = {
        "waveforms": DataSet(
            "waveforms",
            "labelled",
            train_kw={"split": "train"},
            test_kw={"split": "test"},
            description="noisy sine/square/sawtooth/triangle series of 64 steps",
        ),
        "adding": DataSet("adding", "xy", description="the adding problem: sum the two marked values (regression)"),
    }
    formats = ("ts", "csv", "npz", "tsv", "ucr")
    readers = {"tsv": read_labelled_text}

    def regression(self, config, labels) -> bool:
        if config.objective == "auto":
            return is_numeric(labels)
        return config.objective == "regression"

    def model_class(self, config, data: TaskData):
        # rnnkit.models loads on use: start-up time (cli/__init__.py)
        from ...models.classifier import SequenceClassifier, SequenceRegressor

        return SequenceRegressor if self.regression(config, data.train[1]) else SequenceClassifier

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        X, y = data.train
        y = _targets(model, y)
        val = None if data.val is None else (data.val[0], _targets(model, data.val[1]))
        model.fit(X, y, validation_data=val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        X, y = data.eval_part if data.eval_part is not None else data.train
        split = data.eval_split if data.eval_part is not None else "training"
        if _is_regressor(model):
            y = _targets(model, y)
            pred = model.predict(X)
            mse = float(np.mean((pred - y) ** 2))
            baselines = {}
            if data.train is not None:
                mean = np.mean(_targets(model, data.train[1]), axis=0)
                baselines["predict the training mean"] = float(np.mean((mean - y) ** 2))
            return {
                "metric": "MSE",
                "model": mse,
                "baselines": baselines,
                "split": split,
                "n": len(X),
                "unit": "sequences",
                "better": "lower",
                "format": "{:.4g}",
            }
        pred = model.predict(X)
        truth = np.asarray(y).astype(str)
        pred_s = np.asarray(pred).astype(str)
        acc = float(np.mean(pred_s == truth))
        baselines = {}
        if data.train is not None:
            values, counts = np.unique(np.asarray(data.train[1]).astype(str), return_counts=True)
            majority = str(values[np.argmax(counts)])
            baselines[f"majority class {majority!r}"] = float(np.mean(truth == majority))
        labels = [str(c) for c in model.classes_]
        index = {c: i for i, c in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for t, p in zip(truth, pred_s, strict=False):
            if t in index:
                matrix[index[t], index[p]] += 1
        return {
            "metric": "accuracy",
            "model": acc,
            "baselines": baselines,
            "split": split,
            "n": len(X),
            "unit": "sequences",
            "better": "higher",
            "confusion": {"labels": labels, "matrix": matrix.tolist()},
        }

    def plots(self, model, data, config, directory, results) -> list:
        if "confusion" not in results:
            return []
        c = results["confusion"]
        return [
            plots.confusion_plot(
                np.array(c["matrix"]),
                c["labels"],
                directory / "confusion.png",
                title=f"{results['split']} confusion matrix",
            )
        ]

    # -- rnnkit predict: CSV index,prediction[,probability] -----------------------------------
    prediction_suffix = ".csv"

    def predict_texts(self, model, texts):
        if not _reads_words(model):
            raise UsageError("--text: this classifier reads numeric sequences; use --data FILE")
        return [t.split() for t in texts]

    def predict_inputs(self, model, config, path, fmt):
        words = _reads_words(model)
        items = read_text_items(path, fmt, config, words=words, guess=words)
        if items is not None:
            return items
        fmt = sources.detect_format(path, fmt, self)
        if fmt == "tsv":  # text<TAB>label: the texts
            texts = sources.read_sources(path, config)
            return [t.split() for t in texts] if words else texts
        return sources.read_unlabelled(path, fmt, config)

    def format_predictions(self, model, items, out_path):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(items)
            pred = model.classes_[np.argmax(proba, axis=1)]
            writer.writerow(["index", "prediction", "probability"])
            for i, (p, row) in enumerate(zip(pred, proba, strict=False)):
                writer.writerow([i, p, f"{row.max():.4f}"])
        else:
            pred = np.asarray(model.predict(items))
            writer.writerow(
                ["index"] + (["prediction"] if pred.ndim == 1 else [f"prediction_{k}" for k in range(pred.shape[1])])
            )
            for i, p in enumerate(pred):
                writer.writerow([i] + [f"{v:.6g}" for v in np.atleast_1d(p)])
        return buf.getvalue()

    def with_source(self, text, source, header):
        lines = text.rstrip("\n").split("\n")
        rows = lines if header else lines[1:]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for k, row in enumerate(csv.reader(rows)):
            writer.writerow(["source" if header and k == 0 else source] + row)
        return buf.getvalue()


def _reads_words(model) -> bool:
    """A text classifier (trained on TSV sentences) reads words, not numeric sequences."""
    return getattr(model, "input_kind_", None) == "tokens"


def _is_regressor(model) -> bool:
    return type(model).__name__ == "SequenceRegressor"


def _targets(model, y):
    if not _is_regressor(model):
        return y
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise CliError(
            "labels: regression needs numeric labels; hint: set objective = classification (--objective classification)"
        ) from None


TASK = ClassifyTask()
