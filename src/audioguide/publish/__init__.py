"""Writers of the edition's files: one module per output, one registry of formats.

Each writer takes the Edition (the parsed script, the measured timeline and the
encoded chapter audio) and writes its files into the edition's staging folder,
returning their paths. Writers run in the order of `format_names()`, so a later one
can use an earlier one's files (the page lists the audio files, the talking books
reuse the chapter MP3s).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import BookAudio, Chapter, ChapterAudio, ChapterTiming, Script, Timeline


@dataclass(frozen=True)
class Edition:
    """Everything a writer may read; `folder` is where it writes.

    `book_audio` and `chapter_audio` hold the book's and each chapter's audio, joined from
    the encodes; writers copy them, never encode again.
    """

    script: Script
    timeline: Timeline
    book_audio: BookAudio
    chapter_audio: tuple[ChapterAudio, ...]
    folder: Path
    work: Path
    narrator: str
    engine: str
    jobs: int = 1
    formats: tuple[str, ...] = field(default=())

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def cover(self) -> Path:
        return self.folder / "cover.png"


Writer = Callable[[Edition], list[Path]]
FORMATS: dict[str, Writer] = {}
ALWAYS = ("cover",)
# The built-in formats in the order they are written, each in its own module, imported
# only when it writes (a render with nothing to do imports none of them). The cover
# comes first (the books embed it); the page last (it lists every other file).
BUILTIN = ("cover", "chapters", "mp3", "m4b", "captions", "podcast", "epub", "daisy", "page")
# The cover is read by the books and the page; the page lists every other file. The
# formats in between depend on none of each other and are written side by side.
WRITTEN_FIRST = ("cover",)
WRITTEN_LAST = ("page",)


def register(name: str, writer: Writer) -> None:
    """Add an output format; third-party formats are written after the built-in ones."""
    FORMATS[name] = writer


def format_names() -> tuple[str, ...]:
    """Every format, built-in first, in the order they are written."""
    return BUILTIN + tuple(name for name in FORMATS if name not in BUILTIN)


def writer(name: str) -> Writer:
    """The writer of a format, importing its module on first use."""
    if name not in FORMATS and name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
    return FORMATS[name]


# ISO 9660 Joliet, which DAISY 2.02 recommends for discs, keeps 64 characters of a name:
# a longer one is cut, extension and all, and the references to it break.
MAX_FILE_NAME = 64
_LONGEST_EXTENSION = len(".xhtml")


def chapter_stem(chapter: Chapter | ChapterTiming, count: int) -> str:
    """A chapter's file name without extension, e.g. 03-introduction, in every output.

    The number is zero-padded to the count (so names sort in chapter order from 100
    chapters on) and the slug cut so that the name stays within MAX_FILE_NAME.
    """
    number = f"{chapter.number:0{max(2, len(str(count)))}d}"
    room = MAX_FILE_NAME - len(number) - 1 - _LONGEST_EXTENSION
    slug = chapter.slug
    if len(slug) > room:  # cut at a word where there is one
        slug = slug[:room + 1].rsplit("-", 1)[0] if "-" in slug[:room + 1] else slug[:room]
    return f"{number}-{slug}"


def chapter_number(chapter: Chapter | ChapterTiming, count: int) -> str:
    """The chapter's number as its file names write it (zero-padded to the count)."""
    return chapter_stem(chapter, count).split("-")[0]


def chapter_filename(chapter: Chapter | ChapterTiming, count: int) -> str:
    """The per-chapter MP3's path inside the edition, e.g. chapters/03-introduction.mp3."""
    return f"chapters/{chapter_stem(chapter, count)}.mp3"


def book_name(edition: Edition, extension: str) -> str:
    """The whole-book file name, e.g. crying-during-sex.m4b."""
    return f"{edition.script.slug}.{extension}"
