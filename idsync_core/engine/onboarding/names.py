"""When two names are the same customer or product: normalization and confident matches.

Precision before recall: a wrong link bills the wrong customer, a missing one is only work left
for a person. A name match is therefore *confident* only when

* the normalized names are equal and no other candidate normalizes to the same name, or
* the fuzzy score (rapidfuzz's Indel ratio of the normalized names) clears :data:`THRESHOLD`,
  beats the runner-up by :data:`MARGIN`, *and* the two names have the same words up to a typo
  in a word: one letter inserted, dropped, replaced or swapped with its neighbour, in a word of
  at least four letters; numbers and short words must be equal. That last rule is what keeps
  "Contoso Pharmaceuticals Ltd." from ever passing for "Contoso Ltd" (a word more) and
  "Microsoft 365 E5" for "Microsoft 365 E3" (a short word differs), whatever the score says.

The fuzzy score only ranks candidates; it never decides alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

T = TypeVar("T")

THRESHOLD = 0.90
MARGIN = 0.05
CANDIDATES = 3
"""Candidates listed for a person to review."""
LISTED_FROM = 0.5
"""Names scoring below this are not worth listing as candidates."""
TYPO_MIN_LENGTH = 4

LEGAL_SUFFIXES = frozenset({
    "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "gmbh", "mbh", "ag", "kg",
    "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "pty", "pte", "plc", "co", "corp",
    "corporation", "company", "oy", "ab", "as", "aps", "ug",
})
"""Legal-form words folded away at the end of a name ("Pty Ltd", "GmbH & Co. KG" as well)."""
_JOINED = re.compile(r"[.'’`´]")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def normalize(name: str) -> str:
    """Fold case, accents, punctuation, white space, ``&``/"and" and legal suffixes.

    ``"Contoso, Ltd."`` and ``"CONTOSO LIMITED"`` → ``"contoso"``; ``"Smith & Sons Pty Ltd"``
    → ``"smith and sons"``; ``"Contoso Pharmaceuticals Ltd."`` → ``"contoso pharmaceuticals"``.
    Dots and apostrophes join (``S.A.`` → ``sa``, ``O'Brien`` → ``obrien``); every other
    separator is a space. A leading "the" goes; the last word always stays.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ").replace("+", " and ")
    words = _SEPARATORS.sub(" ", _JOINED.sub("", text)).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):
        words.pop()  # "and" too: "GmbH & Co. KG" leaves it once "co kg" are gone
    return " ".join(words)


def score(a: str, b: str) -> float:
    """Similarity of two *normalized* names, 0..1 (rapidfuzz's normalized Indel ratio)."""
    return round(fuzz.ratio(a, b) / 100, 4)


def _is_exact_word(word: str) -> bool:
    return len(word) < TYPO_MIN_LENGTH or any(ch.isdigit() for ch in word)


def same_words_up_to_typos(a: str, b: str) -> bool:
    """The same words in the same order, each equal or one typo apart (see the module doc)."""
    left, right = a.split(), b.split()
    if len(left) != len(right):
        return False
    for x, y in zip(left, right, strict=True):
        if x == y:
            continue
        if _is_exact_word(x) or _is_exact_word(y) or OSA.distance(x, y) > 1:
            return False
    return True


@dataclass(frozen=True)
class Candidate(Generic[T]):
    item: T
    score: float


@dataclass(frozen=True)
class NameMatch(Generic[T]):
    """The best candidate for a name, whether it is confident, and why."""

    best: T | None
    score: float | None
    reason: str
    confident: bool
    candidates: list[Candidate[T]] = field(default_factory=list)


class NameIndex(Generic[T]):
    """Candidates (companies, agreements, catalog items) searchable by name."""

    def __init__(self, items: Sequence[T], name: Callable[[T], str], *, what: str) -> None:
        self.items = list(items)
        self.what = what
        self.names = [normalize(name(item)) for item in self.items]
        self.exact: dict[str, list[int]] = {}
        for position, key in enumerate(self.names):
            if key:
                self.exact.setdefault(key, []).append(position)

    def match(self, name: str) -> NameMatch[T]:
        key = normalize(name)
        if not key or not self.items:
            return NameMatch(None, None, f"no {self.what} to compare with", False)
        ranked = [Candidate(self.items[i], round(s / 100, 4)) for _, s, i in process.extract(
            key, self.names, scorer=fuzz.ratio, limit=CANDIDATES + 1,
            score_cutoff=LISTED_FROM * 100)]
        same = self.exact.get(key, [])
        if len(same) == 1:
            equal = self.items[same[0]]
            others = [c for c in ranked if c.item is not equal][:CANDIDATES - 1]
            return NameMatch(equal, 1.0, "same name after normalization", True,
                             [Candidate(equal, 1.0), *others])
        if len(same) > 1:
            tied = [Candidate(self.items[i], 1.0) for i in same]
            return NameMatch(None, 1.0, f"{len(same)} candidates have this name after "
                             "normalization", False, tied[:CANDIDATES])
        if not ranked:
            return NameMatch(None, None, f"no {self.what} with a similar name", False)
        best, listed = ranked[0], ranked[:CANDIDATES]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        words_agree = same_words_up_to_typos(key, self.names[self.items.index(best.item)])
        detail = f"fuzzy {best.score:.2f}" + (f", runner-up {runner_up:.2f}" if runner_up
                                               else "")
        if best.score < THRESHOLD:
            return NameMatch(best.item, best.score, f"{detail}: below {THRESHOLD:.2f}", False,
                             listed)
        if best.score - runner_up < MARGIN:
            return NameMatch(best.item, best.score, f"{detail}: not {MARGIN:.2f} ahead of the "
                             "runner-up", False, listed)
        if not words_agree:
            return NameMatch(best.item, best.score, f"{detail}: the words differ by more than a "
                             "typo", False, listed)
        return NameMatch(best.item, best.score, detail, True, listed)
