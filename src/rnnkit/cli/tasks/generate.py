"""``rnnkit train generate``: sequences generated from a condition (one-to-many).

Conditions are class labels: the label of a ``.ts``/``.npz``/CSV sequence (which is then
generated as a real-valued series), or the first column of a TSV file (the second column
is generated as text). Results are teacher-forced next-step scores on held-out sequences:

- series: mean squared error per element in standardized units, beside persistence (each
  step predicted by the one before it; the first by the mean);
- text: nats per character, beside a unigram model of the training characters.

Plots: sequences generated for each class (series), or samples as text.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from typing import Any

import numpy as np

from ...utils import plots
from .._base import UsageError
from ..sources import DataSet
from ..task_configs import GenerateConfig
from .task import Task, TaskData, refuse_music_flags, result_line


def _pairs(part):
    """(conditions, sequences) from labelled sequences or from (condition, text) pairs."""
    if isinstance(part, tuple):
        return list(part[1]), list(part[0])
    return [c for c, _ in part], [t for _, t in part]


class GenerateTask(Task):
    name = "generate"
    config_class = GenerateConfig
    model_names = ("SequenceGenerator",)
    model_module = "rnnkit.models.generator"
    command = "rnnkit generate"
    help = "generate sequences from a condition (default: waveforms by class)"
    remedy = "more --epochs, a larger --hidden-size, or --preset default"
    about = "a sequence from a condition (a sequence's label, or a TSV's first column)"
    examples = (
        "rnnkit train generate --data waveforms",
        "rnnkit generate runs/generate-<stamp> --condition square",
    )
    datasets = {
        "waveforms": DataSet(
            "waveforms",
            "labelled",
            train_kw={"split": "train"},
            test_kw={"split": "test"},
            description="draw a sine, square, sawtooth or triangle series by class name",
        ),
    }
    formats = ("ts", "csv", "npz", "tsv", "ucr")

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        val = _pairs(data.val) if data.val else None
        model.fit(*_pairs(data.train), validation_data=val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        part, split = (data.eval_part, data.eval_split) if data.eval_part else (data.train, "training")
        cond, seqs = _pairs(part)
        score = model.score(cond, seqs)
        out: dict[str, Any] = {"split": split, "n": len(seqs), "unit": "sequences", "better": "lower", "baselines": {}}
        if model.vocab_ is None:  # real-valued series: score is -MSE (standardized)
            out.update(metric="next-step MSE (standardized)", model=-score, format="{:.4g}")
            z = [(np.asarray(s, np.float64).reshape(len(s), -1) - model.out_mean_) / model.out_scale_ for s in seqs]
            prev = [np.concatenate([np.zeros_like(a[:1]), a[:-1]]) for a in z]
            out["baselines"]["persistence"] = float(
                np.mean(np.concatenate([(a - p) ** 2 for a, p in zip(z, prev, strict=False)]))
            )
        else:  # tokens: score is the mean log-likelihood per token
            out.update(metric="nats/token", model=-score)
            if data.train is not None:
                out["baselines"]["unigram"] = _unigram_nats(_pairs(data.train)[1], seqs)
        return out

    def samples(self, model, config) -> dict:
        """A generated sequence per class (text: sampled; series: deterministic)."""
        if model.classes_ is None:
            return {}
        classes = [c.item() if hasattr(c, "item") else c for c in list(model.classes_)[:8]]
        length = config.sample_length or None
        if model.vocab_ is None:
            seqs = model.generate(classes, length=length or model.max_length_)
            return {"samples": {str(c): np.asarray(s).tolist() for c, s in zip(classes, seqs, strict=False)}}
        seqs = model.generate(classes, length=length, temperature=config.temperature, seed=config.seed)
        return {
            "samples": {
                str(c): s if isinstance(s, str) else " ".join(map(str, s)) for c, s in zip(classes, seqs, strict=False)
            }
        }

    def sample_texts(self, results: dict) -> dict[str, str]:
        """A text model's generated text per condition (a series is drawn in the plots)."""
        lines = [f"{c}: {s}" for c, s in results.get("samples", {}).items() if isinstance(s, str)]
        return {"samples": "\n".join(lines)} if lines else {}

    def summary(self, results: dict) -> str:
        text = result_line(results) + "\n" + self.verdict(results)
        samples = results.get("samples", {})
        if samples and isinstance(next(iter(samples.values())), str):
            text += "\n\nsamples:\n" + "\n".join(f"  {c}: {s}" for c, s in samples.items())
        return text

    def plots(self, model, data, config, directory, results) -> list:
        samples = results.get("samples", {})
        if not samples:
            return []
        first = next(iter(samples.values()))
        if isinstance(first, str):
            text = "\n".join(f"{c}: {s}" for c, s in samples.items())
            return plots.write_samples(text, directory, title="generated samples")
        series = {c: np.asarray(s)[:, 0] for c, s in samples.items()}
        return [plots.series_plot(series, directory / "generated.png", title="generated sequences, one per condition")]

    def generate(self, model, args, config, console) -> str:
        """One sequence per ``--condition``: text as ``condition<TAB>text`` lines, series as
        CSV ``condition,t,value`` (drawn to ``--plot FILE.png`` when asked)."""
        refuse_music_flags(args, self.name)
        if args.prime is not None:
            raise UsageError("--prime: a generate model starts from a --condition, not a prime")
        temperature = args.temperature if args.temperature is not None else config.temperature
        conditions = _conditions(model, args.condition)
        if model.vocab_ is not None:
            seqs = model.generate(
                conditions, length=args.length, temperature=temperature, top_k=args.top_k, seed=args.seed
            )
            return (
                "\n".join(
                    f"{c}\t{s if isinstance(s, str) else ' '.join(map(str, s))}"
                    for c, s in zip(conditions, seqs, strict=False)
                )
                + "\n"
            )
        seqs = model.generate(conditions, length=args.length)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        F = np.asarray(seqs[0]).reshape(len(seqs[0]), -1).shape[1]
        writer.writerow(["condition", "t"] + (["value"] if F == 1 else [f"value_{f}" for f in range(F)]))
        for c, s in zip(conditions, seqs, strict=False):
            for t, row in enumerate(np.asarray(s).reshape(len(s), -1)):
                writer.writerow([c, t] + [f"{v:.6g}" for v in row])
        if args.plot and plots.available():
            plots.series_plot(
                {c: np.asarray(s).reshape(len(s), -1)[:, 0] for c, s in zip(conditions, seqs, strict=False)},
                args.plot,
                title="generated sequences",
            )
        return buf.getvalue()


def _conditions(model, given):
    """The classes named by ``--condition`` (every class when none is given)."""
    classes = [c.item() if hasattr(c, "item") else c for c in list(model.classes_)]
    if not given:
        return classes
    by_text = {str(c): c for c in classes}
    unknown = [c for c in given if c not in by_text]
    if unknown:
        raise UsageError(
            f"--condition: unknown {', '.join(map(repr, unknown))}; the model knows {', '.join(map(str, classes[:30]))}"
        )
    return [by_text[c] for c in given]


def _unigram_nats(train_seqs, seqs) -> float:
    """Nats per token (EOS included) of ``seqs`` under add-one unigram counts of training."""
    counts = Counter(t for s in train_seqs for t in s)
    total = sum(counts.values()) + len(train_seqs)  # + one EOS per sequence
    V = len(counts) + 1
    nats, n = 0.0, 0
    for s in seqs:
        for t in list(s) + [None]:
            c = len(train_seqs) if t is None else counts.get(t, 0)
            nats -= math.log((c + 1) / (total + V))
            n += 1
    return nats / n


TASK = GenerateTask()
