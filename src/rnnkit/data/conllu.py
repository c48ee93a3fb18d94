"""CoNLL-U (Universal Dependencies) files, read for part-of-speech tagging.

A sentence is a block of token lines ended by a blank line; ``#`` lines are comments. A
token line has 10 tab-separated fields: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
MISC. IDs ``1-2`` (multiword-token ranges, e.g. "don't" over "do" + "n't") and ``1.1``
(empty nodes) are not words of the tagging sequence and are skipped. A UPOS of ``_``
(not annotated) falls back to XPOS when that is given. Lines with trailing tabs, and
lines of 10 fields separated by spaces instead of tabs, are read too.

A ``.conllu`` file is CoNLL-U and nothing else: a token line of another field count is an
error naming it, and so is a file whose every UPOS (and XPOS) is ``_``, which has no tags
to learn (``tagged=False`` reads such a file's words, to tag them).

The simpler column files of CoNLL-2000/2003 and most NER and chunking sets (one token per
line, the word first and its tag last, separated by spaces or tabs; ``-DOCSTART-`` lines
skipped) are read by the same function from a file of another extension (``.conll``,
``.iob``, ``.bio``): one whose first token line does not have 10 fields is read that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..utils.atomic import atomic_write
from ._validate import DataFormatError, PathLike, read_text_file

_FIELDS = 10


def read_conllu(path: PathLike, encoding: str = "utf-8", *, tagged: bool = True) -> list[list[tuple[str, str]]]:
    """Read sentences as lists of ``(form, upos)`` pairs.

    Args:
        tagged: the file must carry tags: a CoNLL-U file whose every UPOS and XPOS is
            ``_`` is an error. False reads the words of an untagged file (to tag them).

    Raises:
        DataFormatError: a token line without 10 tab-separated fields (in a ``.conllu``
            file, or one whose first token line has 10), a non-integer ID, no tags
            (``tagged``), or a file with no sentences.
    """
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    lines = read_text_file(path, encoding).split("\n")
    if Path(path).suffix.lower() != ".conllu" and _is_column_file(lines):
        return _read_columns(path, lines)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        if line.startswith("#"):
            continue
        fields = _fields(line)
        if len(fields) != _FIELDS:
            hint = "CoNLL-U separates fields with tabs, not spaces"
            if len(fields) < _FIELDS and len(line.split()) >= 2:
                hint += "; a file of WORD ... TAG columns is read as such from a .conll, .iob or .bio file"
            raise DataFormatError(
                path,
                f"expected {_FIELDS} tab-separated fields (CoNLL-U), got {len(fields)}",
                line=number,
                hint=hint,
            )
        token_id = fields[0]
        if "-" in token_id or "." in token_id:
            continue  # a multiword-token range or an empty node
        if not token_id.isdigit():
            raise DataFormatError(path, f"expected an integer token ID, got {token_id!r}", line=number, column="ID")
        upos = fields[3] if fields[3] != "_" or fields[4] == "_" else fields[4]
        current.append((fields[1], upos))
    if current:
        sentences.append(current)
    if not sentences:
        raise DataFormatError(path, "no sentences found")
    if tagged and all(tag == "_" for sentence in sentences for _, tag in sentence):
        raise DataFormatError(
            path,
            "every token's tag is '_' (not annotated, and XPOS is '_' too): there are no tags to learn or score",
            column="UPOS",
            hint="fill the 4th column (UPOS) with the tags, e.g. NOUN, VERB",
        )
    return sentences


def _fields(line: str) -> list[str]:
    fields = line.rstrip("\t ").split("\t")
    if len(fields) == 1 and len(line.split()) == _FIELDS:  # spaces instead of tabs
        fields = line.split()
    return fields


def _is_column_file(lines: list[str]) -> bool:
    """True when the first token line is not a CoNLL-U line but has a word and a tag."""
    for line in lines:
        if not line.strip() or line.startswith("#") or line.startswith("-DOCSTART-"):
            continue
        return len(_fields(line)) != _FIELDS and len(line.split()) >= 2
    return False


def _read_columns(path: PathLike, lines: list[str]) -> list[list[tuple[str, str]]]:
    """Token-per-line column files: the first field is the word, the last the tag."""
    sentences: list = []
    current: list = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
                current = []
            continue
        if len(fields) < 2:
            raise DataFormatError(
                path,
                f"expected a word and a tag, got {line.strip()!r}",
                line=number,
                hint="one token per line: WORD ... TAG",
            )
        current.append((fields[0], fields[-1]))
    if current:
        sentences.append(current)
    if not sentences:
        raise DataFormatError(path, "no sentences found")
    return sentences


def write_conllu(path: PathLike, sentences: Iterable[Sequence[tuple[str, str]]], *, comment_text: bool = True) -> None:
    """Write ``(form, upos)`` sentences as CoNLL-U (other fields ``_``; HEAD/DEPREL unset).

    With ``comment_text`` each sentence starts with ``# sent_id`` and ``# text`` comments.
    """
    lines = []
    for k, sentence in enumerate(sentences, start=1):
        if comment_text:
            lines += [f"# sent_id = {k}", "# text = " + " ".join(f for f, _ in sentence)]
        for i, (form, upos) in enumerate(sentence, start=1):
            if not form or any(c in form for c in "\t\n") or " " in form:
                raise ValueError(
                    f"sentences[{k - 1}][{i - 1}]: invalid form {form!r}; "
                    "expected non-empty text without spaces or tabs"
                )
            lines.append("\t".join([str(i), form, "_", upos, "_", "_", "_", "_", "_", "_"]))
        lines.append("")
    with atomic_write(path, "w", parents=False) as fh:
        fh.write("\n".join(lines) + "\n")
