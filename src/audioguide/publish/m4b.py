"""The whole book as an M4B audiobook: AAC-LC, QuickTime and Nero chapters, tags, cover.

The book's AAC frames (joined from the segments' encodes, following the MP3's times
within half a frame) are put in an MP4 container without re-encoding; its chapters
are the timeline's. Both tracks, the audio and ffmpeg's chapter text track, carry the
script's language.
"""

from __future__ import annotations

from pathlib import Path

from .. import tags
from ..tools import ffmpeg
from . import Edition, book_name

FASTSTART_BY_FFMPEG_BYTES = 3 << 30


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
    metadata = edition.work / "chapters.ffmeta"
    metadata.write_text(ffmetadata(edition), encoding="utf-8")
    language = tags.language_code(script)
    # The index goes first (a player streams the file), moved by tags.moov_first, which
    # needs less memory than ffmpeg's pass; near 4 GB, where 32-bit chunk offsets would
    # overflow as it moves them, ffmpeg's pass writes 64-bit ones.
    huge = edition.book_audio.aac.stat().st_size > FASTSTART_BY_FFMPEG_BYTES
    ffmpeg(["-f", "aac", "-i", edition.book_audio.aac.absolute(), "-i", metadata.absolute(),
            "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1", "-c:a", "copy",
            "-metadata:s:a:0", f"language={language}", "-brand", "M4B ",
            *(["-movflags", "+faststart"] if huge else []),
            "-fflags", "+bitexact", "-f", "mp4", out.absolute()],
           [out], "write the M4B")
    if not huge:
        tags.moov_first(out)
    tags.set_track_languages(out, language)
    tags.tag_m4b(out, script, edition.narrator, edition.cover.read_bytes())
    return [out]
