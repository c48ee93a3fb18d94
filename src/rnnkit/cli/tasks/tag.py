"""``rnnkit train tag``: one tag per token (part-of-speech tagging, aligned sequences).

Reports token accuracy beside the classic baseline: each word's most frequent training
tag, and the most frequent tag overall for words never seen in training.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .. import sources
from ..sources import DataSet
from ..task_configs import TagConfig
from .task import Task, TaskData, read_text_items, result_line


def words_and_tags(sentences):
    X = [[w for w, _ in s] for s in sentences]
    y = [[t for _, t in s] for s in sentences]
    return X, y


def most_frequent_tag(train_sentences):
    """word -> its most frequent tag, and the most frequent tag overall (for unseen words)."""
    per_word: dict[str, Counter] = defaultdict(Counter)
    overall = Counter()
    for sentence in train_sentences:
        for w, t in sentence:
            per_word[w][t] += 1
            overall[t] += 1
    table = {w: c.most_common(1)[0][0] for w, c in per_word.items()}
    return table, overall.most_common(1)[0][0]


class TagTask(Task):
    name = "tag"
    config_class = TagConfig
    model_names = ("SequenceTagger",)
    model_module = "rnnkit.models.tagger"
    command = "rnnkit predict"
    help = "tag every token (default: tiny-pos part-of-speech set)"
    remedy = "more --epochs, --affix-length 3 and --word-shape (for unseen words), or --preset default"
    about = "one tag per token (part-of-speech tagging)"
    examples = (
        "rnnkit train tag --data tiny-pos",
        "rnnkit train tag --data en_ewt-ud-train.conllu --val-data en_ewt-ud-dev.conllu",
        "rnnkit predict runs/tag-<stamp> --text 'the dog runs home'",
    )
    datasets = {
        "tiny-pos": DataSet(
            "tiny-pos",
            "sentences",
            train_kw={"split": "train"},
            test_kw={"split": "test"},
            description="260 generated English sentences with Universal POS tags",
        ),
        "copy-memory": DataSet(
            "copy-memory",
            "token_pairs",
            description="recall 10 symbols after a blank gap: each input token is tagged with the token to output",
        ),
        "running-sum": DataSet(
            "running-sum", "count_pairs", description="count the ones so far: each 0/1 token is tagged with the count"
        ),
    }
    formats = ("conllu",)

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        val = None if not data.val else words_and_tags(data.val)
        model.fit(*words_and_tags(data.train), validation_data=val, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        part = data.eval_part if data.eval_part else data.train
        split = data.eval_split if data.eval_part else "training"
        X, y = words_and_tags(part)
        pred = model.predict(X)
        table, fallback = most_frequent_tag(data.train) if data.train is not None else ({}, None)
        right = base = total = unseen = unseen_right = 0
        for words, tags, guess in zip(X, y, pred, strict=False):
            for w, t, p in zip(words, tags, guess, strict=False):
                total += 1
                right += p == t
                base += table.get(w, fallback) == t
                if table and w not in table:
                    unseen += 1
                    unseen_right += p == t
        out = {
            "metric": "token accuracy",
            "model": right / total,
            "baselines": {"most frequent tag per word": base / total} if table else {},
            "split": split,
            "n": total,
            "unit": "tokens",
            "better": "higher",
        }
        if unseen:
            out["unseen_word_accuracy"] = unseen_right / unseen
            out["unseen_words"] = unseen
        return out

    def summary(self, results: dict) -> str:
        text = result_line(results) + "\n" + self.verdict(results)
        if "unseen_words" in results:
            text += (
                f"\n{results['unseen_words']} tokens unseen in training, tagged with accuracy "
                f"{results['unseen_word_accuracy']:.4f}"
            )
        return text

    # -- rnnkit predict: word<TAB>tag lines (CoNLL-U for an --out FILE.conllu) ------------------
    def predict_texts(self, model, texts):
        return [t.split() for t in texts]

    def predict_inputs(self, model, config, path, fmt):
        items = read_text_items(path, fmt, config, words=True)
        if items is not None:
            return items
        sources.detect_format(path, fmt, self)
        return sources.read_sentences(path, config)

    def format_predictions(self, model, items, out_path):
        tags = model.predict(items)
        if out_path is not None and out_path.lower().endswith(".conllu"):
            return _conllu(items, tags)
        return (
            "\n\n".join(
                "\n".join(f"{w}\t{t}" for w, t in zip(ws, ts, strict=False))
                for ws, ts in zip(items, tags, strict=False)
            )
            + "\n"
        )


def _conllu(sentences, tags) -> str:
    lines = []
    for k, (words, ts) in enumerate(zip(sentences, tags, strict=False), start=1):
        lines += [f"# sent_id = {k}", "# text = " + " ".join(words)]
        for i, (w, t) in enumerate(zip(words, ts, strict=False), start=1):
            lines.append("\t".join([str(i), w, "_", str(t), "_", "_", "_", "_", "_", "_"]))
        lines.append("")
    return "\n".join(lines) + "\n"


TASK = TagTask()
