"""The whole book as an M4B audiobook: AAC-LC, QuickTime and Nero chapters, tags, cover."""

from __future__ import annotations

from pathlib import Path

from mutagen.mp4 import MP4, MP4Cover

from ..tools import ffmpeg
from . import Edition, book_name, register
from .mp3 import concat_list

AAC_BITRATE = "64k"


def ffmetadata_escape(value: str) -> str:
    """Escape a value for ffmpeg's FFMETADATA format (=, ;, #, \\ and newlines)."""
    for char in ("\\", "=", ";", "#", "\n"):
        value = value.replace(char, "\\" + char)
    return value


def ffmetadata(edition: Edition, spans: list[tuple[int, int]]) -> str:
    """The chapters as FFMETADATA; TIMEBASE in each chapter, or ffmpeg reads nanoseconds."""
    lines = [";FFMETADATA1"]
    for chapter, (start, end) in zip(edition.timeline.chapters, spans, strict=False):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}",
                  f"title={ffmetadata_escape(chapter.title)}"]
    return "\n".join(lines) + "\n"


def write(edition: Edition) -> list[Path]:
    script = edition.script
    out = edition.path(book_name(edition, "m4b"))
    # The "fast" AAC coder: the default one overshoots by up to 4 dB on speech onsets at
    # this bitrate (true peak above 0 dBTP), and takes four times as long.
    # The MP4 edit list trims the AAC priming and padding, so the file decodes to exactly
    # the programme's length and the timeline's end is the decoded end.
    spans = [(c.start_ms, c.end_ms) for c in edition.timeline.chapters]
    metadata = edition.work / "chapters.ffmeta"
    metadata.write_text(ffmetadata(edition, spans), encoding="utf-8")
    ffmpeg(["-f", "concat", "-safe", "0", "-i", concat_list(edition).absolute(),
            "-i", metadata.absolute(), "-map", "0:a", "-map_metadata", "1",
            "-map_chapters", "1", "-ar", "44100", "-ac", "1", "-c:a", "aac",
            "-b:a", AAC_BITRATE, "-aac_coder", "fast", "-brand", "M4B ",
            "-movflags", "+faststart",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "mp4", out.absolute()],
           [out], "encode the M4B")
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
    tags.save()
    return [out]


register("m4b", write)
