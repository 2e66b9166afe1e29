"""Writers of the edition's files: one module per output, one registry of formats.

Each writer takes the Edition (the parsed script, the measured timeline and the
mastered chapter audio) and writes its files into the edition's staging folder,
returning their paths. Writers run in the order of FORMATS, so a later one can
use an earlier one's files (the page lists the audio files, the talking books
reuse the chapter MP3s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Chapter, ChapterAudio, ChapterTiming, Script, Timeline


@dataclass(frozen=True)
class Edition:
    """Everything a writer may read; `folder` is where it writes.

    `chapter_audio` holds each chapter encoded once (MP3 and AAC); writers copy or
    join those encodes, never encode again.
    """

    script: Script
    timeline: Timeline
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


def register(name: str, writer: Writer) -> None:
    """Add an output format; writers run in the order they were registered."""
    FORMATS[name] = writer


def chapter_filename(chapter: Chapter | ChapterTiming) -> str:
    """The per-chapter MP3's path inside the edition, e.g. chapters/03-introduction.mp3."""
    return f"chapters/{chapter.number:02d}-{chapter.slug}.mp3"


def book_name(edition: Edition, extension: str) -> str:
    """The whole-book file name, e.g. crying-during-sex.m4b."""
    return f"{edition.script.slug}.{extension}"


def load_builtins() -> None:
    """Register the built-in writers, in the order they must run."""
    # Order matters: the cover comes first (the books embed it); later writers read
    # the chapter MP3s.
    from . import cover  # noqa: F401, I001
    from . import chapters, mp3, m4b  # noqa: F401, I001
    from . import captions, podcast  # noqa: F401, I001
    from . import epub, daisy  # noqa: F401, I001
    # The page comes last: it lists every other file.
    from . import page  # noqa: F401, I001
