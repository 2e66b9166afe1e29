"""The whole book as one MP3 with ID3v2.3 chapters (CHAP frames under one CTOC).

The book is joined from the segments' MP3 frames behind one Info frame (see
encode.py), so players read its exact length and gapless decoders skip the encoder's
delay; each chapter starts exactly where the timeline says. mutagen writes the tags
(tags.py), since ffmpeg's own CTOC stores its child count in one byte and corrupts
past 255 chapters.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import tags
from ..errors import EncodeError
from ..framing import to_ms
from . import Edition, book_name
from .builtin import MP3_MAX_CHAPTERS as MAX_CHAPTERS


def write(edition: Edition) -> list[Path]:
    chapters = edition.timeline.chapters
    if len(chapters) > MAX_CHAPTERS:
        raise EncodeError(f"an MP3 can list at most {MAX_CHAPTERS} chapters in its table of "
                          f"contents; this script has {len(chapters)}", path=edition.script.path)
    out = edition.path(book_name(edition, "mp3"))
    if to_ms(edition.book_audio.mp3_samples) != edition.timeline.duration_ms:
        raise EncodeError("the joined MP3 does not match the timeline", path=out)
    shutil.copyfile(edition.book_audio.mp3, out)
    tags.tag_book_mp3(out, edition.script, edition.narrator, edition.cover.read_bytes(),
                      chapters)
    return [out]


