"""``rnnkit train charlm``: a character language model, trained by truncated BPTT.

The last ``val_fraction`` of the text (a contiguous tail, not random characters) is the
validation text. The result is its cross-entropy in nats per character beside character
n-gram models fitted on the training text: unigram, bigram and trigram with Witten-Bell
interpolation (Witten & Bell 1991; Chen & Goodman 1998, section 2.5):

    P(c | h) = (C(h c) + N1+(h .) P(c | h')) / (C(h) + N1+(h .))

where h' drops the oldest character of h, N1+(h .) counts the distinct characters seen
after h, and the recursion ends in the uniform distribution over the training characters.
Characters of the validation text never seen in training are dropped before scoring (the
model has no output for them), and the count is reported.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from ...utils import plots
from .._base import CliError
from ..sources import DataSet
from ..task_configs import CharLMConfig
from .task import Task, TaskData, refuse_music_flags, result_line


class WittenBell:
    """An interpolated character n-gram model of order ``n`` (see the module docstring)."""

    def __init__(self, text: str, n: int) -> None:
        self.n = n
        self.vocab = sorted(set(text))
        # order k: history (k chars) -> next
        self.counts: list[defaultdict[str, Counter]] = [defaultdict(Counter) for _ in range(n)]
        for k in range(n):
            table = self.counts[k]
            for i in range(k, len(text)):
                table[text[i - k : i]][text[i]] += 1
        self.totals = [{h: (sum(c.values()), len(c)) for h, c in t.items()} for t in self.counts]

    def prob(self, history: str, c: str) -> float:
        p = 1.0 / len(self.vocab)
        for k in range(self.n):
            if k > len(history):
                break
            h = history[len(history) - k :] if k else ""
            seen = self.totals[k].get(h)
            if seen is None:
                continue
            total, distinct = seen
            p = (self.counts[k][h][c] + distinct * p) / (total + distinct)
        return p

    def nats_per_char(self, text: str) -> float:
        """Mean -log P of characters 2..n of ``text``, each given the n-1 before it."""
        total = 0.0
        for i in range(1, len(text)):
            total -= math.log(self.prob(text[max(0, i - self.n + 1) : i], text[i]))
        return total / (len(text) - 1)


class CharLMTask(Task):
    name = "charlm"
    config_class = CharLMConfig
    model_names = ("CharLM",)
    model_module = "rnnkit.models.charlm"
    command = "rnnkit generate"
    help = "a character language model of a text (default: the Python docs)"
    remedy = (
        "more --epochs (a character model needs several passes over its text), a larger --hidden-size, "
        "a longer --k1, or --preset default"
    )
    about = "character language model: next-character prediction, then text generation"
    examples = (
        "rnnkit train charlm --preset quick",
        "rnnkit train charlm --data my_text.txt --hidden-size 256 --epochs 5",
        "rnnkit generate runs/charlm-<stamp> --prime 'The ' --length 400",
    )
    datasets = {
        "pydoc": DataSet("pydoc", "text"),
    }
    formats = ("text",)

    def split(self, text, fraction, rng):
        if not isinstance(text, str):
            raise CliError("--data: the charlm task needs text")
        cut = len(text) - int(round(fraction * len(text)))
        if cut < 2:
            raise CliError(f"--data: only {len(text)} characters; too few to train on")
        return text[:cut], (text[cut:] if cut < len(text) else None)

    def fit(self, model, data: TaskData, config, callbacks=()) -> None:
        val = _known(data.val, set(data.train))[0] if data.val else None
        model.fit(data.train, validation_data=val if val and len(val) >= 2 else None, callbacks=callbacks)

    def evaluate(self, model, data: TaskData, config) -> dict:
        part, split = (data.eval_part, data.eval_split) if data.eval_part else (data.train, "training")
        text, dropped = _known(part, {c for c in set(part) if c in model.vocab_})
        if len(text) < 2:
            raise CliError(f"the {split} text has fewer than 2 characters the model knows")
        out = {
            "metric": "nats/char",
            "model": model.evaluate(text),
            "baselines": {},
            "split": split,
            "n": len(text),
            "unit": "chars",
            "better": "lower",
        }
        if data.train:
            for n, label in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
                out["baselines"][label] = WittenBell(data.train, n).nats_per_char(text)
        if dropped:
            out["unseen_chars_dropped"] = dropped
        return out

    def samples(self, model, config) -> dict:
        if not config.sample_length:
            return {}
        return {"sample": model.generate(length=config.sample_length, temperature=config.temperature, seed=config.seed)}

    def summary(self, results: dict) -> str:
        text = result_line(results, f"({results['model'] / math.log(2):.3f} bits/char)") + "\n" + self.verdict(results)
        if results.get("unseen_chars_dropped"):
            text += f"\n{results['unseen_chars_dropped']} characters unseen in training were dropped before scoring"
        if results.get("sample"):
            text += "\n\nsample:\n" + results["sample"]
        return text

    def plots(self, model, data, config, directory, results) -> list:
        if not results.get("sample"):
            return []
        title = f"samples at temperature {config.temperature}"
        return plots.write_samples(results["sample"], directory, title=title)

    def generate(self, model, args, config, console) -> str:
        """Text after ``--prime``: ``--length`` characters (400) sampled at ``--temperature``."""
        refuse_music_flags(args, self.name)
        temperature = args.temperature if args.temperature is not None else config.temperature
        length = args.length if args.length is not None else 400
        text = model.generate(
            prime=args.prime, length=length, temperature=temperature, top_k=args.top_k, seed=args.seed
        )
        return (args.prime or "") + text


def _known(text: str, chars: set) -> tuple[str, int]:
    kept = "".join(c for c in text if c in chars)
    return kept, len(text) - len(kept)


TASK = CharLMTask()
