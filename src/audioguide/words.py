"""The written words of a sentence, timed by the spoken words the engine reported.

The engine speaks the sentence's spoken form ("$5.99" as "five dollars and ninety-nine
cents", a lexicon word as its phonemes); readers see the written form. The two are
compared word by word (letters and digits only, case ignored):

- a written word that is also spoken, in order, gets that spoken word's time;
- a run of written words said differently (a number, an abbreviation, a lexicon entry)
  gets the time of the spoken words that replace it: one to one when the counts agree,
  otherwise as one timed span of written text;
- written words that are not spoken at all (an image's alt text) join the word before
  them (or after, at the start), so every word of the text is still shown;
- spoken words with no written counterpart (a cue, a chapter's position) lengthen the
  word before them; before the first written word they belong to no word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from .model import WordTime

_TOKEN = re.compile(r"\S+")
_KEPT = "%#&@"  # punctuation that is part of what a word says


def _around(ch: str) -> bool:
    """Whether `ch` is punctuation around a word rather than part of it."""
    return ch.isspace() or (unicodedata.category(ch).startswith("P") and ch not in _KEPT)


@dataclass
class _Unit:
    start: int  # characters of the written text
    end: int
    start_ms: int
    end_ms: int


def _key(token: str) -> str:
    letters = "".join(ch for ch in token.lower() if ch.isalnum())
    return letters or token


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation around it (kept when it is all punctuation)."""
    s, e = start, end
    while s < e and _around(text[s]):
        s += 1
    while e > s and _around(text[e - 1]):
        e -= 1
    return (s, e) if s < e else (start, end)


def written_words(text: str, spoken: tuple[WordTime, ...]) -> tuple[WordTime, ...]:
    """The words of the written `text` with times (ms in the clip) from `spoken`."""
    if not spoken:
        return ()
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    keys = [_key(text[s:e]) for s, e in tokens]
    units: list[_Unit] = []
    unspoken: list[tuple[int, int]] = []  # written tokens waiting for a unit to join
    matcher = SequenceMatcher(None, keys, [_key(w.text) for w in spoken], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                units.append(_Unit(*tokens[i], spoken[j].start_ms, spoken[j].end_ms))
        elif op == "replace":
            units.append(_Unit(tokens[i1][0], tokens[i2 - 1][1],
                               spoken[j1].start_ms, spoken[j2 - 1].end_ms))
        elif op == "delete":
            if units:
                units[-1].end = tokens[i2 - 1][1]
            else:
                unspoken.extend(tokens[i1:i2])
        elif units:  # insert: spoken words no written word stands for
            units[-1].end_ms = max(units[-1].end_ms, spoken[j2 - 1].end_ms)
        if units and unspoken:
            units[0].start = unspoken[0][0]
            unspoken = []
    words = []
    for unit in units:
        start, end = _trimmed(text, unit.start, unit.end)
        words.append(WordTime(text[start:end], unit.start_ms, max(unit.start_ms, unit.end_ms)))
    return _ordered(words)


def _ordered(words: list[WordTime]) -> tuple[WordTime, ...]:
    """Times that never go back: each word starts no earlier than the one before."""
    result: list[WordTime] = []
    for word in words:
        floor = result[-1].start_ms if result else 0
        start = max(word.start_ms, floor)
        result.append(WordTime(word.text, start, max(start, word.end_ms)))
    return tuple(result)
