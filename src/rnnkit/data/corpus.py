"""A character corpus that every CPython installation carries: the reference-manual topics.

``pydoc_data.topics.topics`` maps help topics ("assignment", "if", "lambda", ...) to the
plain-text sections of the Python Language Reference that ``help()`` prints: roughly half a
million characters of English prose and code, a good small corpus for character-level
language models. The text follows the Python version, so record ``sys.version`` with any
result that depends on it. The Python documentation is under the PSF licence.
"""

from __future__ import annotations

import functools
import unicodedata

from ._validate import check_int

# Typographic characters found in the topics, mapped to their ASCII spelling.
_ASCII = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2013": "-",
        "\u2014": "--",
        "\u2212": "-",
        "\u00df": "ss",
        "\u00b0": " degrees",
        "\u00a0": " ",
        "\u00d7": "x",
    }
)


def python_docs_corpus(max_chars: int | None = None) -> str:
    """The reference-manual topics as one printable-ASCII string.

    The topic texts are joined in sorted key order, separated by a blank line, and
    normalized so that a character model sees a small, stable alphabet:

    1. line ends become ``\\n``;
    2. curly quotes, dashes, ellipses, ``\u00df`` and a few other symbols get ASCII
       spellings; accented letters lose their accents (Unicode NFKD);
    3. whatever is not printable ASCII (32..126), ``\\n`` or a tab is dropped;
    4. tabs are expanded to 8 columns.

    Args:
        max_chars: keep only the first ``max_chars`` characters (None: all).

    Returns:
        the corpus text; every character is in ``string.printable`` minus ``\\t\\r\\x0b\\x0c``.

    Raises:
        RuntimeError: this Python installation lacks ``pydoc_data``.
    """
    if max_chars is not None:
        max_chars = check_int(max_chars, "max_chars", 1)
    return _full_corpus()[:max_chars]


@functools.cache  # a str is immutable, so sharing one copy is safe
def _full_corpus() -> str:
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:
        raise RuntimeError(
            "python_docs_corpus: the standard-library module pydoc_data.topics is missing "
            "from this Python installation (some distributions package it separately); "
            "hint: train on your own text with rnnkit.data.read_text(path)"
        ) from exc
    text = "\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n"
    return normalize_ascii(text)


def normalize_ascii(text: str) -> str:
    """Steps 1-4 of :func:`python_docs_corpus` applied to any text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    text = "".join(c for c in text if c in "\n\t" or " " <= c <= "~")
    return text.expandtabs(8)  # last, so columns count the final characters
