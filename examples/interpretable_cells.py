"""Train a small character LSTM on the Python reference manual and find its readable cells.

    python examples/interpretable_cells.py [characters] [epochs]

Fits rnnkit.models.CharLM on the first N characters of the Python docs corpus that
ships with Python (pydoc_data), then ranks every cell by how well it tracks simple
features of the text (inside quotes or parentheses, position in the line, vowels) and
writes cells-example/cells.html: the text coloured by the top cells, in the style of
Karpathy, Johnson & Fei-Fei (2015). Larger models and longer training give cleaner cells.
"""

import sys

from rnnkit.data import python_docs_corpus
from rnnkit.diagnostics import interpretable_cells_report
from rnnkit.models import CharLM


def main(chars: int = 200_000, epochs: int = 2) -> None:
    text = python_docs_corpus(max_chars=chars)
    split = int(0.95 * len(text))
    missing = "".join(sorted(set(text[split:]) - set(text[:split]))) or None  # so the held-out part encodes
    model = CharLM(
        cell="lstm",
        hidden_size=64,
        embedding_dim=16,
        k1=64,
        epochs=epochs,
        batch_size=32,
        alphabet=missing,
        seed=0,
        verbose=True,
    ).fit(text[:split])
    print(f"validation: {model.evaluate(text[split:]):.3f} nats per character")
    page, ranking = interpretable_cells_report(model, text[split : split + 3000], "cells-example", top=8)
    for r in ranking:
        print(f"{r['kind']}[{r['cell']:>2}]  {r['feature']:<18} r = {r['correlation']:+.2f}")
    print(f"open {page}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
