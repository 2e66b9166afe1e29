"""The talking book as DAISY 2.02, for DAISY players and the libraries that lend to them.

daisy/ holds the navigation control centre (ncc.html), one text document with
the whole text (content.html, every sentence an element with its id), one SMIL 1.0
file per chapter and the chapter MP3s (the same files as chapters/, tags and all).

It is a full-text book (ncc:multimediaType "audioFullText"): each SMIL `par`
pairs a sentence of content.html with its clip of the chapter MP3, so a player
can show and follow the text and not only the headings. The clips are the same
as in the EPUB (see epub.py): they tile each chapter file, so every
`ncc:timeInThisSmil` equals its `seq/@dur`, the sum of its clips and the length of
the chapter file, and `ncc:totalTime` their sum. The SMIL times are written to the
millisecond (so they add up exactly); `ncc:totalTime` in whole seconds (hh:mm:ss),
as DAISY 2.02 writes it.

The book title is the NCC's first heading (`h1 class="title"`, which DAISY 2.02
requires). The narration does not speak the title on its own, so its `par` in the
first SMIL holds the room tone that opens the recording, up to the first heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..model import Chapter
from ..units import decimal_seconds, hh_mm_ss, padded_clock
from . import Edition, chapter_number, chapter_stem
from .chapters import write_chapter_mp3
from .epub import (
    OUTPUT_DATE,
    Par,
    blocks,
    book_identifier,
    book_pars,
    direction,
    isolated_direction,
    render_template,
)

FOLDER = "daisy"
NCC = "ncc.html"
CONTENT = "content.html"
TITLE_ID = "title"


@dataclass(frozen=True)
class _Smil:
    """One chapter's SMIL file and the audio it plays."""

    number: int
    chapter: Chapter
    pars: tuple[Par, ...]
    audio: str
    elapsed_ms: int
    title_ms: int = 0
    file_number: str = ""

    @property
    def name(self) -> str:
        return f"{self.file_number}.smil"

    @property
    def duration_ms(self) -> int:
        return self.title_ms + sum(par.end_ms - par.begin_ms for par in self.pars)



def _smils(edition: Edition) -> list[_Smil]:
    smils: list[_Smil] = []
    elapsed = 0
    for chapter, pars in book_pars(edition):
        title_ms = 0
        if not smils:
            # The first chapter's opening room tone becomes the title's clip.
            first = pars[0]
            title_ms = edition.timeline.chapters[0].sentences[0].start_in_chapter_ms
            pars = (Par(first.sentence, title_ms, first.end_ms), *pars[1:])
        count = len(edition.script.chapters)
        smil = _Smil(chapter.number, chapter, pars, f"{chapter_stem(chapter, count)}.mp3",
                     elapsed, title_ms, chapter_number(chapter, count))
        smils.append(smil)
        elapsed += smil.duration_ms
    return smils


def write(edition: Edition) -> list[Path]:
    script = edition.script
    folder = edition.path(FOLDER)
    folder.mkdir(exist_ok=True)
    smils = _smils(edition)
    total_ms = sum(smil.duration_ms for smil in smils)
    book_dir = direction(script.language)
    common = {
        "script": script, "lang": script.language, "dir": book_dir, "smils": smils,
        "identifier": book_identifier(script), "generator": f"audioguide {__version__}",
        "title_id": TITLE_ID, "content": CONTENT,
    }
    files = [folder / NCC, folder / CONTENT, *(folder / smil.name for smil in smils),
             *(folder / smil.audio for smil in smils)]
    (folder / NCC).write_bytes(render_template(
        "daisy_ncc.html", date=OUTPUT_DATE.strftime("%Y-%m-%d"), narrator=edition.narrator,
        total=hh_mm_ss(total_ms), file_count=len(files), **common))
    (folder / CONTENT).write_bytes(render_template(
        "daisy_content.html", blocks=blocks,
        isolate=lambda text: isolated_direction(text, book_dir), **common))
    for smil in smils:
        (folder / smil.name).write_bytes(render_template(
            "daisy_chapter.smil", smil=smil, clock=padded_clock, seconds=decimal_seconds, **common))
    for index, smil in enumerate(smils):
        write_chapter_mp3(edition, index, folder / smil.audio)
    return files
