"""The whole book as one MP3 with ID3v2.3 chapters (CHAP frames under one CTOC).

ffmpeg encodes; mutagen writes the tags and chapters, since ffmpeg's own CTOC
stores its child count in one byte and corrupts past 255 chapters.
"""

from __future__ import annotations

from pathlib import Path

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
from mutagen.mp3 import MP3

from ..errors import EncodeError
from ..model import ChapterTiming
from ..tools import ffmpeg
from . import Edition, book_name, register
from .chapters import mp3_args

MAX_CHAPTERS = 255
NO_OFFSET = 0xFFFFFFFF


def concat_list(edition: Edition) -> Path:
    """An ffmpeg concat list of the mastered chapter WAVs (joined sample-exactly)."""
    path = edition.work / "chapters.ffconcat"
    lines = ["ffconcat version 1.0"]
    for wav in edition.chapter_wavs:
        quoted = str(wav.absolute()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(edition: Edition) -> list[Path]:
    if len(edition.timeline.chapters) > MAX_CHAPTERS:
        raise EncodeError(f"an MP3 can list at most {MAX_CHAPTERS} chapters in its table of "
                          f"contents; this script has {len(edition.timeline.chapters)}",
                          path=edition.script.path)
    out = edition.path(book_name(edition, "mp3"))
    ffmpeg(["-f", "concat", "-safe", "0", "-i", concat_list(edition).absolute(),
            "-map_metadata", "-1", *mp3_args(edition), "-f", "mp3", out.absolute()], [out],
           "encode the MP3")
    length_ms = round(MP3(out).info.length * 1000)
    tag_mp3(edition, out, ends_at(edition.timeline.chapters, length_ms))
    return [out]


def ends_at(chapters: tuple[ChapterTiming, ...], length_ms: int) -> list[tuple[int, int]]:
    """(start, end) of each chapter, the last ending where the encoded file ends."""
    spans = [(c.start_ms, c.end_ms) for c in chapters]
    if spans:
        spans[-1] = (spans[-1][0], max(spans[-1][0] + 1, length_ms))
    return spans


def tag_mp3(edition: Edition, path: Path, spans: list[tuple[int, int]]) -> None:
    """Write the book's ID3v2.3 tags, cover and chapter frames."""
    script = edition.script
    tags = ID3()
    tags.add(TIT2(encoding=3, text=script.title))
    tags.add(TPE1(encoding=3, text=script.author))
    tags.add(TPE2(encoding=3, text=script.author))
    tags.add(TALB(encoding=3, text=script.title))
    tags.add(TCON(encoding=3, text="Audiobook"))
    tags.add(TCOM(encoding=3, text=edition.narrator))
    tags.add(TLAN(encoding=3, text=script.language))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=f"Narrated by {edition.narrator}. "
                  f"{script.description}".strip()))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover",
                  data=edition.cover.read_bytes()))
    ids = [f"ch{c.number:03d}" for c in edition.timeline.chapters]
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=script.title)]))
    chapters = edition.timeline.chapters
    for element_id, chapter, (start, end) in zip(ids, chapters, spans, strict=True):
        tags.add(CHAP(element_id=element_id, start_time=start, end_time=end,
                      start_offset=NO_OFFSET, end_offset=NO_OFFSET,
                      sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    tags.save(path, v2_version=3, v1=0, padding=lambda info: 0)


register("mp3", write)
