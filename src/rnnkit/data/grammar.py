"""A small English grammar that generates sentences tagged with Universal POS tags.

It makes the built-in tagging set (``files/tiny-pos-*.conllu``): declaratives, questions,
negation, copulas, infinitives, subordinate and coordinated clauses, with subject-verb
agreement, tense, and nouns chosen to fit their verb (people read letters, dogs sleep,
candles are lit). Many words take more than one tag depending on context (``book``,
``watch``, ``light``, ``train``, ``plan``, ``walk``, ``visit``: NOUN or VERB; ``light``
also ADJ; ``like``: VERB or ADP; ``that``: DET or SCONJ; ``to``: PART or ADP; ``fast``: ADJ
or ADV; ``after``: ADP or SCONJ), so a tagger has to read the context rather than memorize
words. Tags follow UD English conventions: possessives such as ``my`` are PRON, the copula
``is`` and auxiliaries are AUX, infinitival ``to`` is PART.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import check_int, resolve_rng

Tagged = list[tuple[str, str]]

# Nouns by kind; the kind decides which adjectives, verbs and prepositions fit.
_KINDS = {
    "person": ["teacher", "student", "child", "driver", "doctor", "friend"],
    "animal": ["dog", "cat", "bird"],
    "thing": [
        "book",
        "letter",
        "report",
        "plan",
        "watch",
        "light",
        "lamp",
        "candle",
        "window",
        "door",
        "ticket",
        "key",
        "room",
        "table",
    ],
    "place": ["garden", "river", "city", "park", "station"],
    "event": ["film", "match", "walk", "trip", "party", "visit", "train"],
}
_KIND = {noun: kind for kind, nouns in _KINDS.items() for noun in nouns}
_IRREGULAR = {"child": "children", "city": "cities", "party": "parties", "watch": "watches", "match": "matches"}
_ADJ = {
    "person": ["old", "young", "happy", "quiet", "tired", "fast"],
    "animal": ["small", "big", "old", "fast", "quiet", "happy"],
    "thing": ["new", "old", "small", "big", "bright", "light", "green", "heavy"],
    "place": ["quiet", "big", "small", "green", "old", "bright"],
    "event": ["long", "short", "fast", "late", "quiet", "new"],
}
_PERSONS, _TOWNS = ["Anna", "Ben", "Maria", "Tom"], ["Paris", "London"]

# Verbs: (base, third-person singular, past) -> nouns that fit as object.
_PEOPLE = _KINDS["person"] + _KINDS["animal"]
_TRANSITIVE = {
    ("read", "reads", "read"): ["book", "letter", "report", "plan"],
    ("book", "books", "booked"): ["room", "table", "train", "trip", "ticket"],
    ("watch", "watches", "watched"): ["film", "match", "train", "bird", "child", "dog"],
    ("like", "likes", "liked"): _PEOPLE + _KINDS["event"] + ["book", "garden", "city"],
    ("open", "opens", "opened"): ["window", "door", "book", "letter"],
    ("write", "writes", "wrote"): ["letter", "report", "book", "plan"],
    ("find", "finds", "found"): ["key", "ticket", "letter", "book", "dog", "cat"],
    ("visit", "visits", "visited"): _KINDS["place"] + _KINDS["person"],
    ("plan", "plans", "planned"): ["trip", "walk", "party", "visit"],
    ("light", "lights", "lit"): ["candle", "lamp"],
    ("train", "trains", "trained"): ["dog", "student", "driver"],
    ("see", "sees", "saw"): _PEOPLE + _KINDS["place"] + ["film", "train", "light", "letter"],
}
_TAKES_PEOPLE = [v for v, objs in _TRANSITIVE.items() if set(objs) & set(_PEOPLE)]
_INTRANSITIVE = [
    ("run", "runs", "ran"),
    ("sleep", "sleeps", "slept"),
    ("arrive", "arrives", "arrived"),
    ("laugh", "laughs", "laughed"),
    ("wait", "waits", "waited"),
    ("walk", "walks", "walked"),
]
_SAYING = [("think", "thinks", "thought"), ("say", "says", "said"), ("know", "knows", "knew")]
_WANTING = [("want", "wants", "wanted"), ("like", "likes", "liked"), ("plan", "plans", "planned")]
_ADV = ["quickly", "slowly", "often", "today", "again", "fast", "here"]
# Subject pronouns with their object forms and whether they take "-s" verbs.
_PRON = {
    "I": ("me", False),
    "you": ("you", False),
    "we": ("us", False),
    "they": ("them", False),
    "he": ("him", True),
    "she": ("her", True),
}


class _Gen:
    """Builds one sentence at a time; ``self.rng`` makes every choice."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, items: Sequence[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # -- noun phrases: (tagged words, third-person singular?) -------------------------
    def noun_phrase(self, nouns: Sequence[str], modify: bool = True) -> tuple[Tagged, bool]:
        noun = self.pick(nouns)
        plural = _IRREGULAR.get(noun, noun + "s")
        roll = self.rng.random()
        if roll < 0.12:
            words, sg = [(self.pick(["two", "three", "five"]), "NUM"), (plural, "NOUN")], False
        elif roll < 0.3:
            owner = self.pick(["my", "your", "our", "their", "his"])
            words, sg = [(owner, "PRON"), (noun, "NOUN")], True
        elif roll < 0.4:
            words, sg = [(plural, "NOUN")], False
        else:
            sg = self.chance(0.65)
            det = self.pick(["the", "a", "this", "that", "every"] if sg else ["the", "some", "these"])
            words = [(det, "DET")]
            if self.chance(0.35):
                if self.chance(0.2):
                    words.append(("very", "ADV"))
                words.append((self.pick(_ADJ[_KIND[noun]]), "ADJ"))
            words.append((noun if sg else plural, "NOUN"))
        if modify and self.chance(0.15):  # "a letter from Anna", "the teacher with the dog"
            if _KIND[noun] in ("person", "animal") and self.chance(0.5):
                words += [("with", "ADP")] + self.noun_phrase(_KINDS["animal"], False)[0]
            else:
                origin = _TOWNS if _KIND[noun] in ("person", "animal") else _PERSONS + _TOWNS
                words += [("from", "ADP"), (self.pick(origin), "PROPN")]
        return words, sg

    def agent(self) -> tuple[Tagged, bool, str | None]:
        """Someone who can read, plan and say things: a pronoun, a name or a person."""
        roll = self.rng.random()
        if roll < 0.4:
            form = self.pick(list(_PRON))
            return [(form, "PRON")], _PRON[form][1], form
        if roll < 0.55:
            return [(self.pick(_PERSONS), "PROPN")], True, None
        words, sg = self.noun_phrase(_KINDS["person"])
        return words, sg, None

    def obj(self, verb: tuple[str, str, str]) -> Tagged:
        if verb in _TAKES_PEOPLE and self.chance(0.25):
            if self.chance(0.5):
                return [(_PRON[self.pick(list(_PRON))][0], "PRON")]
            return [(self.pick(_PERSONS + (_TOWNS if verb[0] == "visit" else [])), "PROPN")]
        return self.noun_phrase(_TRANSITIVE[verb])[0]

    def tail(self, motion: bool = False) -> Tagged:
        """An optional adverb or prepositional phrase of place, time or manner."""
        where = ["in", "near", "to"] if motion else ["in", "near"]
        roll = self.rng.random()
        if roll < 0.2:
            return [(self.pick(_ADV), "ADV")]
        if roll < 0.3:
            return [(self.pick(where), "ADP"), (self.pick(_TOWNS), "PROPN")]
        if roll < 0.42:
            return [(self.pick(where), "ADP")] + self.noun_phrase(_KINDS["place"], False)[0]
        if roll < 0.5:
            return [("after", "ADP")] + self.noun_phrase(_KINDS["event"], False)[0]
        return []

    # -- clauses -----------------------------------------------------------------------
    def clause(self, depth: int = 0) -> Tagged:
        subj, sg, pron = self.agent()
        tense = "past" if self.chance(0.4) else "present"

        def tensed(entry: tuple[str, str, str]) -> tuple[str, str]:
            base, third, past = entry
            return (past if tense == "past" else third if sg else base), "VERB"

        kind = int(self.rng.integers(8))
        verb = self.pick(list(_TRANSITIVE))
        if kind == 0:  # modal, maybe negated: "she will not read the letter"
            neg = [("not", "PART")] if self.chance(0.3) else []
            modal = [(self.pick(["will", "can", "should", "must"]), "AUX")]
            return subj + modal + neg + [(verb[0], "VERB")] + self.obj(verb) + self.tail()
        if kind == 1:  # do-support: "they did not walk to the park"
            aux = "did" if tense == "past" else "does" if sg else "do"
            negated = [(aux, "AUX"), ("not", "PART"), (self.pick(_INTRANSITIVE)[0], "VERB")]
            return subj + negated + self.tail(True)
        if kind == 2:  # copula: "the river was very quiet"
            if self.chance(0.5):
                noun = self.pick(list(_KIND))
                subj, sg = self.noun_phrase([noun], False)
                adj = self.pick(_ADJ[_KIND[noun]])
            else:
                adj = self.pick(_ADJ["person"])
            be = ("was" if sg else "were") if tense == "past" else ("is" if sg else "are")
            if subj == [("I", "PRON")]:
                be = "was" if tense == "past" else "am"
            very = [("very", "ADV")] if self.chance(0.3) else []
            return subj + [(be, "AUX")] + very + [(adj, "ADJ")]
        if kind == 3:  # infinitive: "Ben wants to book a room"
            wanting = self.pick([w for w in _WANTING if w[0] != verb[0]])
            return subj + [tensed(wanting), ("to", "PART"), (verb[0], "VERB")] + self.obj(verb)
        if kind == 4 and depth == 0:  # complement clause: "I think that the dog sleeps"
            that = [("that", "SCONJ")] if self.chance(0.7) else []
            return subj + [tensed(self.pick(_SAYING))] + that + self.clause(1)
        if kind == 5:  # animals act too: "the small dog ran like a child"
            if self.chance(0.4):
                subj, sg = self.noun_phrase(_KINDS["animal"])
            manner = [("like", "ADP")] + self.noun_phrase(_PEOPLE, False)[0] if self.chance(0.2) else self.tail(True)
            return subj + [tensed(self.pick(_INTRANSITIVE))] + manner
        return subj + [tensed(verb)] + self.obj(verb) + self.tail()

    def question(self) -> Tagged:
        subj, sg, pron = self.agent()
        aux = self.pick(["can", "will", "should"]) if self.chance(0.5) else ("does" if sg else "do")
        verb = self.pick(list(_TRANSITIVE))
        return [(aux, "AUX")] + subj + [(verb[0], "VERB")] + self.obj(verb) + [("?", "PUNCT")]

    def sentence(self) -> Tagged:
        roll = self.rng.random()
        if roll < 0.12:
            words = self.question()
        elif roll < 0.24:
            conj = [(self.pick(["when", "because", "if", "after"]), "SCONJ")]
            words = conj + self.clause(1) + [(",", "PUNCT")] + self.clause(1) + [(".", "PUNCT")]
        elif roll < 0.36:
            cc = [(",", "PUNCT"), (self.pick(["and", "but", "or"]), "CCONJ")]
            words = self.clause() + cc + self.clause() + [(".", "PUNCT")]
        else:
            words = self.clause() + [(".", "PUNCT")]
        form, tag = words[0]
        return [(form[0].upper() + form[1:], tag)] + words[1:]


def tagged_sentences(n: int, *, rng: np.random.Generator | None = None, seed: int | None = None) -> list[Tagged]:
    """``n`` distinct generated sentences, each a list of ``(form, upos)`` pairs."""
    n = check_int(n, "n", 1)
    gen = _Gen(resolve_rng(rng, seed, "tagged_sentences"))
    seen: set = set()
    out: list = []
    while len(out) < n:
        sentence = gen.sentence()
        if tuple(sentence) not in seen:
            seen.add(tuple(sentence))
            out.append(sentence)
    return out
