"""Readers for plain text: a whole text, and tab-separated (source, target) pairs.

The format readers live next to this file, one format each: ``tabular.py`` (CSV series
and long-format sequences), ``sequence_npz.py``, ``ts_format.py`` (UEA/UCR ``.ts``) and
``conllu.py``. All raise :class:`DataFormatError` (a ``ValueError``) naming the file and
the line, and ``FileNotFoundError`` for a missing file.
"""

from __future__ import annotations

import csv

from ._validate import DataFormatError, PathLike, read_text_file

#: the longest source or target of a pair, in characters: a sequence-to-sequence model keeps
#: every step of both in memory while training, so one runaway line would exhaust it
MAX_PAIR_CHARS = 10_000


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole file as one string, with ``\\n`` line ends (for character models)."""
    return read_text_file(path, encoding)


def read_pairs_tsv(path: PathLike, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """Read ``source<TAB>target`` lines, for sequence-to-sequence tasks.

    Empty lines are skipped. Lines may carry more columns (Tatoeba's ``eng<TAB>fra<TAB>
    attribution`` files do), as long as every line has as many as the first one; the first
    two are read. A field that starts with a double quote is read with CSV quoting, so it
    may hold a tab. A first line of column names (``source<TAB>target``, ``text<TAB>label``,
    ...) is skipped.

    Returns:
        a list of ``(source, target)`` strings in file order.

    Raises:
        DataFormatError: a line with fewer than 2 fields or another number of fields than
            the first line, a field longer than :data:`MAX_PAIR_CHARS`, or no pairs at all.
    """
    pairs, width = [], None
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        if not line.strip():
            continue
        fields = _tab_fields(line)
        if width is None:
            width = len(fields)
            if width >= 2 and {f.strip().lower() for f in fields[:2]} <= HEADER_WORDS:
                continue
        if len(fields) < 2 or len(fields) != width:
            expected = f"{max(width, 2)} tab-separated fields"
            expected += " as on the first line" if width > 2 else ""
            raise DataFormatError(
                path,
                f"expected {expected}, got {len(fields)}",
                line=number,
                hint='one pair per line, source and target separated by a tab; quote a text holding a tab ("a<TAB>b")',
            )
        longest = max(len(fields[0]), len(fields[1]))
        if longest > MAX_PAIR_CHARS:
            raise DataFormatError(
                path,
                f"expected a source and target of at most {MAX_PAIR_CHARS} characters, got {longest}",
                line=number,
                hint="split the text into sentences, one pair per line",
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataFormatError(path, "no (source, target) pairs: the file is empty")
    return pairs


# Column names found on the first line of TSV files, skipped as a header.
HEADER_WORDS = frozenset(
    {
        "source",
        "target",
        "src",
        "tgt",
        "input",
        "output",
        "text",
        "label",
        "sentence",
        "class",
        "category",
        "condition",
        "review",
        "sentiment",
        "question",
        "answer",
        "x",
        "y",
    }
)


def _tab_fields(line: str) -> list[str]:
    if '"' not in line or not any(f.startswith('"') for f in line.split("\t")):
        return line.split("\t")

    try:
        return next(csv.reader([line], delimiter="\t", strict=True))
    except csv.Error:
        return line.split("\t")
