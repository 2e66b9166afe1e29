"""The whole book as an M4B audiobook: AAC-LC, QuickTime and Nero chapters, tags, cover.

The chapters' AAC frames are joined in order and put in an MP4 container without
re-encoding; chapter k starts at the sum of the chapter lengths before it.
"""

from __future__ import annotations

from pathlib import Path

from mutagen.mp4 import MP4, MP4Cover

from ..errors import EncodeError
from ..tools import ffmpeg
from . import Edition, book_name


def ffmetadata_escape(value: str) -> str:
    """Escape a value for ffmpeg's FFMETADATA format (=, ;, #, \\ and newlines)."""
    for char in ("\\", "=", ";", "#", "\n"):
        value = value.replace(char, "\\" + char)
    return value


def ffmetadata(edition: Edition) -> str:
    """The chapters as FFMETADATA; TIMEBASE in each chapter, or ffmpeg reads nanoseconds."""
    lines = [";FFMETADATA1"]
    for chapter in edition.timeline.chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}",
                  f"END={chapter.end_ms}", f"title={ffmetadata_escape(chapter.title)}"]
    return "\n".join(lines) + "\n"


def write(edition: Edition) -> list[Path]:
    script = edition.script
    out = edition.path(book_name(edition, "m4b"))
    joined = edition.work / "book.aac"
    with joined.open("wb") as book:
        for audio in edition.chapter_audio:
            book.write(audio.aac.read_bytes())
    metadata = edition.work / "chapters.ffmeta"
    metadata.write_text(ffmetadata(edition), encoding="utf-8")
    ffmpeg(["-f", "aac", "-i", joined.absolute(), "-i", metadata.absolute(), "-map", "0:a",
            "-map_metadata", "1", "-map_chapters", "1", "-c:a", "copy", "-brand", "M4B ",
            "-movflags", "+faststart", "-fflags", "+bitexact", "-f", "mp4", out.absolute()],
           [out], "write the M4B")
    tags = MP4(out)
    tags["\xa9nam"] = [script.title]
    tags["\xa9alb"] = [script.title]
    tags["\xa9ART"] = [script.author]
    tags["aART"] = [script.author]
    tags["\xa9gen"] = ["Audiobook"]
    tags["\xa9wrt"] = [edition.narrator]
    tags["\xa9cmt"] = [f"Narrated by {edition.narrator}. {script.description}".strip()]
    tags["desc"] = [script.description or script.title]
    tags["stik"] = [2]
    tags["covr"] = [MP4Cover(edition.cover.read_bytes(), imageformat=MP4Cover.FORMAT_PNG)]
    try:
        tags.save()
    except Exception as exc:  # mutagen raises its own and OS errors; report both the same way
        raise EncodeError(f"cannot write the M4B tags ({exc})", path=out) from None
    return [out]
