"""CoNLL-U (Universal Dependencies) files, read for part-of-speech tagging.

A sentence is a block of token lines ended by a blank line; ``#`` lines are comments. A
token line has 10 tab-separated fields: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
MISC. IDs ``1-2`` (multiword-token ranges, e.g. "don't" over "do" + "n't") and ``1.1``
(empty nodes) are not words of the tagging sequence and are skipped.
"""

from __future__ import annotations

from ._common import DataFormatError, read_text_file

_FIELDS = 10


def read_conllu(path, encoding: str = "utf-8") -> list[list[tuple[str, str]]]:
    """Read sentences as lists of ``(form, upos)`` pairs.

    Raises:
        DataFormatError: a token line without 10 tab-separated fields, a non-integer ID,
            or a file with no sentences.
    """
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != _FIELDS:
            raise DataFormatError(
                path, f"expected {_FIELDS} tab-separated fields, got {len(fields)}",
                line=number, hint="CoNLL-U separates fields with tabs, not spaces",
            )
        token_id = fields[0]
        if "-" in token_id or "." in token_id:
            continue  # a multiword-token range or an empty node
        if not token_id.isdigit():
            raise DataFormatError(path, f"expected an integer token ID, got {token_id!r}",
                                  line=number, column="ID")
        current.append((fields[1], fields[3]))
    if current:
        sentences.append(current)
    if not sentences:
        raise DataFormatError(path, "no sentences found")
    return sentences


def write_conllu(path, sentences, *, comment_text: bool = True) -> None:
    """Write ``(form, upos)`` sentences as CoNLL-U (other fields ``_``; HEAD/DEPREL unset).

    With ``comment_text`` each sentence starts with ``# sent_id`` and ``# text`` comments.
    """
    lines = []
    for k, sentence in enumerate(sentences, start=1):
        if comment_text:
            lines += [f"# sent_id = {k}", "# text = " + " ".join(f for f, _ in sentence)]
        for i, (form, upos) in enumerate(sentence, start=1):
            if not form or any(c in form for c in "\t\n") or " " in form:
                raise ValueError(f"sentences[{k - 1}][{i - 1}]: invalid form {form!r}; "
                                 "expected non-empty text without spaces or tabs")
            lines.append("\t".join([str(i), form, "_", upos, "_", "_", "_", "_", "_", "_"]))
        lines.append("")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
