"""Readers for plain text: a whole text, and tab-separated (source, target) pairs.

The format readers live next to this file, one format each: ``tabular.py`` (CSV series
and long-format sequences), ``sequence_npz.py``, ``ts_format.py`` (UEA/UCR ``.ts``) and
``conllu.py``. All raise :class:`DataFormatError` (a ``ValueError``) naming the file and
the line, and ``FileNotFoundError`` for a missing file.
"""

from __future__ import annotations

from ._common import DataFormatError, read_text_file


def read_text(path, encoding: str = "utf-8") -> str:
    """The whole file as one string, with ``\\n`` line ends (for character models)."""
    return read_text_file(path, encoding)


def read_pairs_tsv(path, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """Read ``source<TAB>target`` lines, for sequence-to-sequence tasks.

    Empty lines are skipped; every other line must have exactly two tab-separated fields
    (either may be empty text only if the line still contains its one tab).

    Returns:
        a list of ``(source, target)`` strings in file order.

    Raises:
        DataFormatError: a line with another number of fields, or no pairs at all.
    """
    pairs = []
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataFormatError(
                path, f"expected 2 tab-separated fields (source, target), got {len(fields)}",
                line=number,
                hint="fields are separated by one tab; a tab inside a text must be removed",
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataFormatError(path, "no (source, target) pairs: the file is empty")
    return pairs
