"""Quality benchmark, sequence setups part 2: Seq2Seq on addition, CharLM against a 5-gram.

1. Addition as sequence-to-sequence: "123+45" -> "168" (operands of 1 to 3 digits, from
   ``rnnkit.data.arithmetic_pairs``). Trained on N pairs, scored by exact match on held-out
   pairs (every source distinct from the training ones). Target: >= 99%.
2. A character language model on the Python reference manual
   (``rnnkit.data.python_docs_corpus()``): the first 90% trains, the last 10% validates.
   Target: validation nats per character below an interpolated modified Kneser-Ney
   5-gram character model fitted on the same training text (implemented below).

Run from the repository root (``--quick`` for a smoke run)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/quality_part2.py [--task addition|charlm|all] [--quick]

One BLAS thread per process: these matrices are small, and a threaded BLAS on a busy
machine spends more time synchronising threads than multiplying. Measured on a shared
2-core machine (load 4 to 8): addition 99.30% greedy / 99.35% beam 4 in 6 minutes;
CharLM 1.178 nats/char against the 5-gram's 1.203 in 15 minutes (run alongside the
addition task). The two tasks can run as two processes, one per core.

The n-gram baseline
-------------------
Interpolated modified Kneser-Ney smoothing (Chen & Goodman 1998, section 3.4), the
strongest classic n-gram estimator. For an order-n model and a history h of n - 1
characters:

    p(w | h) = max(c(hw) - D(c(hw)), 0) / c(h.)  +  gamma(h) * p(w | h')

where h' drops the oldest character of h, c(h.) = sum_w c(hw), and

    gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3 N3+(h.)) / c(h.)

with Nk(h.) the number of distinct w with c(hw) = k (3+ for the last). The highest order
counts occurrences; every lower order counts *continuations* c(hw) = |{v : c(vhw) > 0}|,
the Kneser-Ney idea: a lower order is only consulted when the higher one is unsure, so it
should model how many contexts a string follows, not how often it occurs. The discounts
per order come from the count-of-counts n1..n4 of that order:

    Y = n1 / (n1 + 2 n2),  D1 = 1 - 2Y n2/n1,  D2 = 2 - 3Y n3/n2,  D3 = 3 - 4Y n4/n3

The order-0 model is uniform over the alphabet, so every character of the alphabet has a
non-zero probability, and a history never seen backs off entirely to the lower order.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict

import numpy as np

from rnnkit.data import arithmetic_pairs, python_docs_corpus
from rnnkit.models.charlm import CharLM
from rnnkit.models.seq2seq import Seq2Seq


# -- the n-gram baseline ---------------------------------------------------------------------
class KneserNeyLM:
    """``KneserNeyLM(order).fit(text, alphabet)``; ``nats_per_char(text)``."""

    def __init__(self, order: int = 5) -> None:
        if order < 1:
            raise ValueError(f"order: expected an int >= 1, got {order}")
        self.order = order

    def fit(self, text: str, alphabet: str | None = None) -> KneserNeyLM:
        n = self.order
        self.alphabet = sorted(set(text) | set(alphabet or ""))
        # counts[k][gram] for grams of length k + 1 (k = 0 .. n-1)
        counts = [Counter() for _ in range(n)]
        top = counts[n - 1]
        for i in range(len(text) - n + 1):
            top[text[i : i + n]] += 1
        for k in range(n - 1, 0, -1):  # continuation counts of order k from order k + 1
            lower = counts[k - 1]
            for gram in counts[k]:
                lower[gram[1:]] += 1
        self.counts = counts
        self.discounts = [self._discounts(c) for c in counts]
        # per history: (total, N1, N2, N3+) of each order
        self.hist = []
        for c in counts:
            h = defaultdict(lambda: [0, 0, 0, 0])
            for gram, v in c.items():
                if v == 0:
                    continue
                s = h[gram[:-1]]
                s[0] += v
                s[min(v, 3)] += 1
            self.hist.append(dict(h))
        return self

    @staticmethod
    def _discounts(c: Counter) -> tuple[float, float, float]:
        nk = Counter(v for v in c.values() if 1 <= v <= 4)
        n1, n2, n3, n4 = (max(nk[i], 1) for i in (1, 2, 3, 4))
        y = n1 / (n1 + 2 * n2)
        d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        return tuple(min(max(x, 0.0), float(i + 1)) for i, x in enumerate(d))

    def prob(self, history: str, w: str) -> float:
        """p(w | the last order - 1 characters of ``history``)."""
        p = 1.0 / len(self.alphabet)
        history = history[-(self.order - 1) :] if self.order > 1 else ""
        for k in range(self.order):  # order k + 1 uses the last k characters
            if k > len(history):
                break
            h = history[len(history) - k :] if k else ""
            stats = self.hist[k].get(h)
            if stats is None:
                continue  # unseen history: keep the lower order's p
            total, n1, n2, n3 = stats
            d1, d2, d3 = self.discounts[k]
            c = self.counts[k].get(h + w, 0)
            d = 0.0 if c == 0 else (d1, d2, d3)[min(c, 3) - 1]
            gamma = (d1 * n1 + d2 * n2 + d3 * n3) / total
            p = max(c - d, 0.0) / total + gamma * p
        return p

    def nats_per_char(self, text: str) -> float:
        """Mean -ln p(text[i] | text[:i]) over i = 1 .. len - 1 (the LSTM's positions)."""
        total = 0.0
        for i in range(1, len(text)):
            total -= math.log(self.prob(text[max(0, i - self.order + 1) : i], text[i]))
        return total / (len(text) - 1)


# -- the tasks -------------------------------------------------------------------------------
def run_addition(quick: bool) -> list[dict]:
    n_train, n_test = (4000, 500) if quick else (40000, 2000)
    pairs = arithmetic_pairs(n_train + n_test, max_digits=3, op="+", seed=0)
    train, test = pairs[:n_train], pairs[n_train:]
    model = Seq2Seq(
        cell="lstm",
        hidden_size=96,
        embedding_dim=16,
        bidirectional=True,
        attention=True,
        epochs=2 if quick else 15,
        batch_size=128,
        lr=4e-3,
        lr_schedule="cosine",
        clip_norm=5.0,
        seed=0,
        verbose=True,
    )
    t0 = time.perf_counter()
    model.fit([s for s, _ in train], [t for _, t in train])
    fit_s = time.perf_counter() - t0
    src, tgt = [s for s, _ in test], [t for _, t in test]
    rows = []
    for beam in (1, 4):
        t0 = time.perf_counter()
        acc = _exact(model.predict(src, beam_size=beam), tgt)
        rows.append(
            {
                "task": f"3-digit addition, {n_train} pairs (held-out exact match, {n_test})",
                "model": f"Seq2Seq LSTM 96, bi-encoder + attention, {'greedy' if beam == 1 else f'beam {beam}'}",
                "value": f"{100 * acc:.2f}%",
                "target": ">= 99%",
                "ok": acc >= 0.99,
                "seconds": fit_s + time.perf_counter() - t0,
            }
        )
    wrong = [(s, t, p) for s, t, p in zip(src, tgt, model.predict(src), strict=False) if p != t][:5]
    print("\nsome greedy errors (source, target, predicted):", wrong, file=sys.stderr)
    return rows


def _exact(pred, tgt) -> float:
    return float(np.mean([p == t for p, t in zip(pred, tgt, strict=False)]))


def run_charlm(quick: bool) -> list[dict]:
    text = python_docs_corpus(max_chars=60000 if quick else None)
    cut = int(0.9 * len(text))
    train, val = text[:cut], text[cut:]
    alphabet = "".join(sorted(set(text)))
    t0 = time.perf_counter()
    kn = KneserNeyLM(5).fit(train, alphabet)
    kn_nats = kn.nats_per_char(val)
    kn_s = time.perf_counter() - t0
    model = CharLM(
        cell="lstm",
        hidden_size=256,
        num_layers=1,
        embedding_dim=32,
        k1=32,
        batch_size=32,
        epochs=1 if quick else 8,
        lr=4e-3,
        lr_schedule="cosine",
        clip_norm=5.0,
        alphabet=alphabet,
        seed=0,
        verbose=True,
    )
    t0 = time.perf_counter()
    model.fit(train, validation_data=val)
    lm_nats = model.evaluate(val)
    lm_s = time.perf_counter() - t0
    sample = model.generate("def ", 160, temperature=0.6, seed=0)
    print(f"\nsample (temperature 0.6) after 'def ':\n{sample}\n", file=sys.stderr)
    task = f"pydoc text, {len(train)}/{len(val)} chars (val nats/char)"
    return [
        {
            "task": task,
            "model": "5-gram interpolated modified Kneser-Ney",
            "value": f"{kn_nats:.4f}",
            "target": "baseline",
            "ok": True,
            "seconds": kn_s,
        },
        {
            "task": task,
            "model": "CharLM LSTM 256, TBPTT k1=k2=32, B=32, 8 epochs",
            "value": f"{lm_nats:.4f}",
            "target": f"< {kn_nats:.4f}",
            "ok": lm_nats < kn_nats,
            "seconds": lm_s,
        },
    ]


def print_table(rows: list[dict]) -> None:
    cols = ["task", "model", "value", "target", "ok", "seconds"]
    cells = [[str(r[c]) if c != "seconds" else f"{r[c]:.0f}" for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = " | ".join(c.ljust(w) for c, w in zip(cols, width, strict=False))
    print(line)
    print("-+-".join("-" * w for w in width))
    for row in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(row, width, strict=False)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=["addition", "charlm", "all"], default="all")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that the script runs")
    args = ap.parse_args(argv)
    rows = []
    if args.task in ("addition", "all"):
        rows += run_addition(args.quick)
    if args.task in ("charlm", "all"):
        rows += run_charlm(args.quick)
    print_table(rows)
    return 0 if all(r["ok"] for r in rows) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
