"""Audit a script's speech without synthesis: what the voice will say otherwise than written.

A finding names the file and line, the written text, what is said instead and why:
every change the normalization in speech.py makes (it reports them itself), every
lexicon or markup substitution, every word espeak-ng reads by its spelling rules or
letter by letter rather than from its dictionary, heteronyms whose reading depends on
context, and lexicon entries that never match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .engines.espeak_lookup import Reading
from .model import Script
from .speech import lexicon_matches

# Words spelled alike and said two ways; espeak-ng picks one without reading the sense.
HETERONYMS = frozenset(
    "read live lives lead leads tear tears wound close bass bow bows desert dove minute "
    "object present produce project record refuse row sow wind content contract invalid "
    "polish entrance subject permit separate excuse resume console conduct moderate estimate "
    "graduate alternate abuse".split()
)
# Reasons a listener must hear before the edition is right: --strict fails on these.
TO_RESOLVE = ("to listen to", "heteronym", "lexicon entry never used")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")

WordReadings = Callable[[Iterable[str], str], dict[str, Reading]]


@dataclass(frozen=True)
class Finding:
    """One thing the voice says otherwise than written, or one to listen to."""

    path: Path
    line: int
    written: str
    spoken: str
    why: str

    @property
    def unresolved(self) -> bool:
        return self.why.startswith(TO_RESOLVE)

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.written} -> {self.spoken or 'nothing'} ({self.why})"


def findings(script: Script, readings: WordReadings, known: Callable[[str], bool],
             voice: str) -> list[Finding]:
    """Every finding for `script`, in the order of its lines.

    `readings` tells how espeak-ng `voice` reads words; `known(word)` whether a word list
    holds it, so that only names, brands and foreign words read by rule are reported.
    """
    path = script.path
    english = script.language.lower().startswith("en")  # the heteronyms are English words
    # Each finding with where it stands: (line, sentence number, offset in the sentence).
    found: list[tuple[tuple[int, int, int], Finding]] = []
    used: set[str] = set()
    words: dict[str, tuple[int, int, int]] = {}
    for number, sentence in enumerate(script.sentences()):
        text = sentence.text

        def add(written: str, spoken: str, why: str, at: int | None = None,
                text: str = text, line: int = sentence.line, number: int = number) -> None:
            offset = text.find(written) if at is None else at
            place = (line, number, offset if offset >= 0 else len(text))
            found.append((place, Finding(path, line, written, spoken, why)))

        used |= lexicon_matches(text, script.lexicon)
        for change in sentence.changes:
            add(change.written, change.spoken, change.why)
        covered = {w for change in sentence.changes for w in _WORD.findall(change.written)}
        said = {w for change in sentence.changes for w in _WORD.findall(change.spoken)}
        heard: set[str] = set()
        for match in _WORD.finditer(text):
            word = match.group()
            if english and word not in covered and word.lower() in HETERONYMS - heard:
                heard.add(word.lower())  # once a sentence: its context decides them all
                add(word, word, "heteronym: said one of two ways; listen to it", match.start())
            if word not in covered and word not in said and len(word) > 1:
                words.setdefault(word, (sentence.line, number, match.start()))
    lookup = readings([_as_spoken(w) for w in words], voice)
    for word, place in words.items():
        reading = lookup.get(_as_spoken(word).lower())
        if reading == "letters" and word.isupper():
            why, spoken = "to listen to: an initialism, spelled letter by letter", " ".join(word)
        elif reading == "letters":
            why, spoken = "to listen to: espeak-ng cannot say it as a word and breaks it up", word
        elif reading == "rules" and not known(_as_spoken(word).lower().split("'")[0]):
            why, spoken = "to listen to: not in espeak-ng's dictionary, read by its spelling " \
                          "rules", word
        else:
            continue
        found.append((place, Finding(path, place[0], word, spoken, why)))
    for (written, spoken), (where, line) in zip(script.lexicon, _origins(script), strict=True):
        if written not in used:
            # The script's own entries sort by line; a PLS file's come first.
            place = (line if where == path else 0, -1, line)
            found.append((place, Finding(where, line, written, spoken,
                                         "lexicon entry never used")))
    return [finding for _, finding in sorted(found, key=lambda item: item[0])]


def _as_spoken(word: str) -> str:
    """A word as the engine gets it: speech.py turns a typographic apostrophe into '."""
    return word.replace("\u2019", "'")


def _origins(script: Script) -> tuple[tuple[Path, int], ...]:
    return script.lexicon_origins or tuple((script.path, 1) for _ in script.lexicon)


def spoken_lines(script: Script) -> list[str]:
    """Each sentence as it will be spoken, with its file and line."""
    return [f"{script.path}:{s.line}: {s.spoken}" for s in script.sentences()]


def word_list(language: str) -> Callable[[str], bool]:
    """Whether a lower-case word is common in `language`; everything is unknown without a list."""
    from spellchecker import SpellChecker

    code = language.split("-")[0].lower()
    if code not in SpellChecker.languages():
        return lambda word: False
    checker = SpellChecker(language=code, distance=1)
    return lambda word: word in checker


def check_script(path: Path, engine: str | None = None) -> tuple[Script, list[Finding]]:
    """Parse the script at `path` and audit it with espeak-ng and the language's word list,
    as `engine` (default: the script's own) will be sent it."""
    from . import engines
    from .engines.espeak_lookup import readings
    from .script import for_engine, parse_script

    script = parse_script(path)
    if engine is not None:
        engines.create(engine)  # an unknown name is a one-line error naming the known ones
        script = for_engine(script, engine)
    voice = script.voice.voice or script.language.lower()
    return script, findings(script, readings, word_list(script.language), voice)
