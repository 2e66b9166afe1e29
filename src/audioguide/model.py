"""The values that flow through the pipeline: frozen dataclasses, times in int ms.

script text -> Script -> clips per sentence -> Timeline -> published files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

BlockKind = Literal["heading", "paragraph", "quote", "list"]


@dataclass(frozen=True)
class Pauses:
    """Silence lengths in ms that the assembly puts between clips."""

    sentence_ms: int = 250
    paragraph_ms: int = 700
    chapter_ms: int = 1200
    lead_in_ms: int = 800
    tail_ms: int = 2000


@dataclass(frozen=True)
class Source:
    """Where the article was first published."""

    name: str
    url: str = ""


@dataclass(frozen=True)
class Change:
    """One thing the spoken form says differently from the written text, and why.

    An empty `spoken` means the written text is not spoken at all.
    """

    written: str
    spoken: str
    why: str


@dataclass(frozen=True)
class Span:
    """Characters `start:end` of a sentence's written text, spoken as `spoken` instead.

    Markup gives these: an `<abbr title>` is spoken as its title, an `<img>`'s alt text
    is shown but not spoken.
    """

    start: int
    end: int
    spoken: str
    why: str


VoiceRole = Literal["narrator", "quote"]


@dataclass(frozen=True)
class Rules:
    """How an engine's spoken form is made: the shared normalization, then the rules
    named in `extra` (speech.RULES), in that order, in every language. An engine names
    its own with a ``speech`` attribute (engines.speech_rules)."""

    name: str
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """A stretch of a sentence spoken in one voice: the narrator's, or the voice the
    script gives quoted speech."""

    text: str
    spoken: str
    voice: VoiceRole


@dataclass(frozen=True)
class Quotes:
    """How quoted speech is voiced (the front matter's `quotes:`)."""

    voice: str
    name: str
    rate: int | None = None
    min_words: int = 3
    line: int = field(default=0, compare=False)  # of `quotes:` in the script, for messages


@dataclass(frozen=True)
class Sentence:
    """One utterance: the written form shown to readers and the form sent to the engine.

    `pause_after_ms` is the silence that follows it, already resolved from the
    script's pauses and any inline pause directive. `spoken` is empty for text with
    nothing to speak (only emoji or punctuation): readers see it, nobody hears it.
    """

    id: str
    text: str
    spoken: str
    line: int
    block: int
    kind: BlockKind
    pause_after_ms: int
    changes: tuple[Change, ...] = field(default=(), compare=False)
    # Set when part or all of it is spoken in another voice than the narrator's; in
    # order, their spoken forms make up `spoken`.
    runs: tuple[Run, ...] = ()

    def voiced_runs(self) -> tuple[Run, ...]:
        """Its runs, or the whole sentence as the narrator's one run."""
        return self.runs or (Run(self.text, self.spoken, "narrator"),)


@dataclass(frozen=True)
class Chapter:
    """A `##` section: its spoken heading is its first sentence."""

    number: int
    title: str
    slug: str
    line: int
    sentences: tuple[Sentence, ...]

    @property
    def heading(self) -> Sentence:
        return self.sentences[0]


@dataclass(frozen=True)
class Voice:
    """Engine settings that change the audio."""

    engine: str = "pyttsx3"
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None


@dataclass(frozen=True)
class EngineSettings:
    """What the front matter's `engines:` gives for one engine other than the script's own:
    how its voice is named to listeners, and its voice, rate and volume (None: not set)."""

    narrator: str | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None


@dataclass(frozen=True)
class Script:
    """A parsed narration script."""

    path: Path
    digest: str
    slug: str
    title: str
    author: str
    source: Source
    language: str
    narrator: str
    description: str
    content_note: str
    lexicon: tuple[tuple[str, str], ...]
    pauses: Pauses
    voice: Voice
    chapters: tuple[Chapter, ...]
    quotes: Quotes | None = None
    orientation: bool = False
    # Settings for other engines than its own (`engines:`), by engine name.
    engines: tuple[tuple[str, EngineSettings], ...] = ()
    # The speech rules its spoken forms were made with (its engine's, at parsing).
    speech: Rules = field(default_factory=lambda: Rules("espeak-ng"))
    # Where each lexicon entry is written (the script or its PLS file, and the line),
    # in the order of `lexicon`.
    lexicon_origins: tuple[tuple[Path, int], ...] = field(default=(), compare=False)
    # The bytes it was parsed from, to read it again for another engine (for_engine).
    raw: bytes = field(default=b"", compare=False, repr=False)

    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for c in self.chapters for s in c.sentences)

    @property
    def disclosure(self) -> str:
        """Every synthetic voice the edition uses, named for listeners and for tags."""
        if self.quotes is None:
            return self.narrator
        return f"{self.narrator.rstrip('.')}; quotations: {self.quotes.name}"

    def settings_for(self, engine: str) -> EngineSettings:
        """The front matter's settings for `engine` (all unset when it gives none)."""
        return dict(self.engines).get(engine, EngineSettings())

    def run_voice(self, role: str, narrator: Voice) -> Voice:
        """The engine settings for a run's voice, given the narrator's."""
        if role == "quote" and self.quotes is not None:
            return Voice(engine=narrator.engine, voice=self.quotes.voice,
                         rate=self.quotes.rate or narrator.rate, volume=narrator.volume)
        return narrator


class WordTime(NamedTuple):
    """A word and when it is heard, in ms from the start of the audio it is part of.

    A named tuple, not a dataclass: a book holds one for every word it speaks, as the
    engine spoke it and as written, and a tuple takes a third of the memory.
    """

    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Clip:
    """A synthesized sentence on disk with its measured length.

    `words` are the spoken words' times in the clip, as the engine reported them (empty
    when it cannot).
    """

    key: str
    path: Path
    frames: int
    sample_rate: int
    words: tuple[WordTime, ...] = field(default=(), compare=False)
    # Where each voice speaks in a clip joined from runs: (voice, start ms, end ms).
    runs: tuple[tuple[str, int, int], ...] = field(default=(), compare=False)

    @property
    def duration_ms(self) -> int:
        return round(self.frames * 1000 / self.sample_rate)


@dataclass(frozen=True)
class ChapterAudio:
    """A chapter's own file before its tags: an MP3 (Info frame, then audio frames) that
    gapless players decode to exactly `samples` at 44.1 kHz."""

    mp3: Path
    samples: int


@dataclass(frozen=True)
class BookAudio:
    """The whole book joined from the encodes: an MP3 as for a chapter, and raw ADTS AAC
    (for the M4B) that decodes to `aac_samples`."""

    mp3: Path
    aac: Path
    mp3_samples: int
    aac_samples: int


class WordTiming(NamedTuple):
    """When a word of a sentence's written text is spoken: in the whole-book files and in
    its chapter's own file (a named tuple, as WordTime)."""

    text: str
    start_ms: int
    end_ms: int
    start_in_chapter_ms: int
    end_in_chapter_ms: int


@dataclass(frozen=True)
class SentenceTiming:
    """When a sentence is spoken: in the whole-book files and in its chapter's own file.

    `words` is empty when the engine reported no word times.
    """

    id: str
    text: str
    start_ms: int
    end_ms: int
    start_in_chapter_ms: int
    end_in_chapter_ms: int
    words: tuple[WordTiming, ...] = ()
    # Only for a sentence with quoted speech: (voice, start ms, end ms) in the book.
    voices: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True)
class ChapterTiming:
    """A chapter's place in the book; every output's chapter table comes from these.

    `start_ms`/`end_ms` are positions in the whole-book files; `file_ms` is the length
    of the chapter's own MP3 as a player decodes it.
    """

    number: int
    title: str
    slug: str
    start_ms: int
    end_ms: int
    file_ms: int
    sentences: tuple[SentenceTiming, ...] = field(default=())

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class Timeline:
    """The measured chapter and sentence times of the whole book."""

    chapters: tuple[ChapterTiming, ...]

    @property
    def duration_ms(self) -> int:
        return self.chapters[-1].end_ms if self.chapters else 0
