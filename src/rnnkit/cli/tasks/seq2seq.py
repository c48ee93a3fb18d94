"""``rnnkit train seq2seq``: an encoder-decoder from source to target sequences.

Sources and targets are strings (character vocabularies). Reports exact-match accuracy
beside a lookup table of the training pairs (the most frequent training target for a
source never seen), which measures memorization, not generalization.
"""

from __future__ import annotations

from collections import Counter

from ...data.readers import MAX_PAIR_CHARS
from .. import sources
from .._base import CliError, UsageError
from ..sources import DataSet
from ..task_configs import Seq2SeqConfig
from .task import Task, TaskData, read_text_items, result_line


def unzip(pairs):
    return [s for s, _ in pairs], [t for _, t in pairs]


class Seq2SeqTask(Task):
    name = "seq2seq"
    config_class = Seq2SeqConfig
    model_names = ("Seq2Seq",)
    model_module = "rnnkit.models.seq2seq"
    command = "rnnkit predict"
    help = "map input sequences to output sequences (default: arithmetic)"
    remedy = "more --epochs, --attention, --reverse-source, or --preset default"
    about = "encoder-decoder: an input sequence to an output sequence of another length"
    examples = (
        "rnnkit train seq2seq --data arithmetic --epochs 20",
        "rnnkit train seq2seq --data pairs.tsv --bidirectional --beam-size 4",
        "rnnkit predict runs/seq2seq-<stamp> --text '123+45'",
    )
    datasets = {
        "arithmetic": DataSet("arithmetic", "pairs"),
    }
    formats = ("tsv",)

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        val = unzip(data.val) if data.val else None
        model.fit(*unzip(data.train), validation_data=val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        part = data.eval_part if data.eval_part else data.train
        split = data.eval_split if data.eval_part else "training"
        sources, targets = unzip(part)
        pred = model.predict(sources, beam_size=config.beam_size)
        baselines = {}
        if data.train is not None:
            table = dict(data.train)
            common = Counter(t for _, t in data.train).most_common(1)[0][0]
            baselines["lookup of training pairs"] = sum(table.get(s, common) == t for s, t in part) / len(part)
        exact = sum(p == t for p, t in zip(pred, targets, strict=False)) / len(part)
        examples = [
            {"source": s, "target": t, "predicted": p}
            for s, t, p in list(zip(sources, targets, pred, strict=False))[:8]
        ]
        return {
            "metric": "exact match",
            "model": exact,
            "baselines": baselines,
            "split": split,
            "n": len(part),
            "unit": "pairs",
            "better": "higher",
            "examples": examples,
        }

    def summary(self, results: dict) -> str:
        lines = [result_line(results), self.verdict(results)]
        lines += [f"  {_example(e)}" for e in results.get("examples", [])[:5]]
        return "\n".join(lines)

    def sample_texts(self, results: dict) -> dict[str, str]:
        """A few translations of the evaluation split, marked right (ok) or wrong (x)."""
        examples = results.get("examples", [])
        return {"translations": "\n".join(map(_example, examples))} if examples else {}

    # -- rnnkit predict: source<TAB>prediction lines -------------------------------------------
    def predict_texts(self, model, texts):
        return _bounded(list(texts), "--text")

    def predict_inputs(self, model, config, path, fmt):
        items = read_text_items(path, fmt, config, words=False)
        if items is None:
            sources.detect_format(path, fmt, self)
            items = sources.read_sources(path, config)
        return _bounded(items, f"--data {path}")

    def predict_options(self, model, args) -> None:
        if args.beam_size is not None:
            if args.beam_size < 1:
                raise UsageError("--beam-size: expected an integer >= 1, for a seq2seq model")
            model.set_params(beam_size=args.beam_size)
            try:  # the beam's states and scores, against the machine's memory
                model._validate_params()
            except ValueError as exc:
                raise CliError(f"--beam-size: {exc}") from None

    def format_predictions(self, model, items, out_path):
        decoded = model.predict(items)
        return "".join(f"{s}\t{p}\n" for s, p in zip(items, decoded, strict=False))


TASK = Seq2SeqTask()


def _example(e: dict) -> str:
    """``ok '1+2' -> '3' (target '3')``: one source, its prediction and its target."""
    mark = "ok" if e["predicted"] == e["target"] else "x "
    return f"{mark} {e['source']!r} -> {e['predicted']!r} (target {e['target']!r})"


def _bounded(items: list[str], where: str) -> list[str]:
    """The sources, each at most as long as training accepts (decoding time and memory grow with it)."""
    for i, item in enumerate(items, 1):
        if len(item) > MAX_PAIR_CHARS:
            raise CliError(
                f"{where}: source {i} has {len(item)} characters, expected at most {MAX_PAIR_CHARS}; "
                "hint: split the text into sentences, one per line"
            )
    return items
