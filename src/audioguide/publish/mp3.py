"""The whole book as one MP3 with ID3v2.3 chapters (CHAP frames under one CTOC).

The book is the chapters' MP3 frames joined in order (each segment's encode starts
with an empty bit reservoir, so the joins decode cleanly); without a gapless header
a player decodes every frame, so each chapter starts exactly where the timeline says.
mutagen writes the tags, since ffmpeg's own CTOC stores its child count in one byte
and corrupts past 255 chapters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCOM,
    TCON,
    TIT2,
    TLAN,
    TPE1,
    TPE2,
    CTOCFlags,
)
from mutagen.id3._tags import save_frame

from ..errors import EncodeError
from . import Edition, book_name, iso639_2
from .builtin import MP3_MAX_CHAPTERS as MAX_CHAPTERS
from .chapters import save_id3

NO_OFFSET = 0xFFFFFFFF


def write(edition: Edition) -> list[Path]:
    chapters = edition.timeline.chapters
    if len(chapters) > MAX_CHAPTERS:
        raise EncodeError(f"an MP3 can list at most {MAX_CHAPTERS} chapters in its table of "
                          f"contents; this script has {len(chapters)}", path=edition.script.path)
    out = edition.path(book_name(edition, "mp3"))
    samples = 0
    with out.open("wb") as book:
        for audio in edition.chapter_audio:
            book.write(audio.mp3.read_bytes())
            samples += audio.samples
    if round(samples * 1000 / 44100) != edition.timeline.duration_ms:
        raise EncodeError("the joined MP3 does not match the timeline", path=out)
    tag_mp3(edition, out)
    return [out]


class _ChapterOrderedID3(ID3):
    """ID3 tags whose CHAP frames are written in time order.

    mutagen orders frames by size; readers that list chapters in file order (ffmpeg,
    and so mpv) would then show them shuffled.
    """

    def _write(self, config: Any) -> bytearray:
        this: Any = self  # mutagen is untyped
        others: Any = ID3()
        for frame in this.values():
            if frame.FrameID != "CHAP":
                others.add(frame)
        data = bytearray(others._write(config))
        for chapter in sorted(this.getall("CHAP"), key=lambda frame: frame.start_time):
            data += save_frame(chapter, config=config)
        return data


def tag_mp3(edition: Edition, path: Path) -> None:
    """Write the book's ID3v2.3 tags, cover and chapter frames."""
    script = edition.script
    tags: Any = _ChapterOrderedID3()  # type: ignore[no-untyped-call]
    tags.add(TIT2(encoding=3, text=script.title))
    tags.add(TPE1(encoding=3, text=script.author))
    tags.add(TPE2(encoding=3, text=script.author))
    tags.add(TALB(encoding=3, text=script.title))
    tags.add(TCON(encoding=3, text="Audiobook"))
    tags.add(TCOM(encoding=3, text=edition.narrator))
    if language := iso639_2(script.language):
        tags.add(TLAN(encoding=3, text=language))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=f"Narrated by {edition.narrator}. "
                  f"{script.description}".strip()))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover",
                  data=edition.cover.read_bytes()))
    chapters = edition.timeline.chapters
    ids = [f"ch{c.number:03d}" for c in chapters]
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=script.title)]))
    for element_id, chapter in zip(ids, chapters, strict=True):
        tags.add(CHAP(element_id=element_id, start_time=chapter.start_ms,
                      end_time=chapter.end_ms, start_offset=NO_OFFSET, end_offset=NO_OFFSET,
                      sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    save_id3(tags, path)
