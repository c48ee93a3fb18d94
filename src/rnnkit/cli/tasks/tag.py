"""``rnnkit train tag``: one tag per token (part-of-speech tagging, aligned sequences).

Reports token accuracy beside the classic baseline: each word's most frequent training
tag, and the most frequent tag overall for words never seen in training.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ..task_configs import TagConfig
from .base import Task, TaskData


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
        from .base import result_line

        text = result_line(results)
        if "unseen_words" in results:
            text += (
                f"\n{results['unseen_words']} tokens unseen in training, tagged with accuracy "
                f"{results['unseen_word_accuracy']:.4f}"
            )
        return text


TASK = TagTask()
