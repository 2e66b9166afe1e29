"""index.html: the edition's player page, with its script and style sheet beside it.

The page is complete without JavaScript: the content note, a native audio
player, a chapter list linking each chapter's own MP3, the full transcript and
the downloads. player.js then turns the chapter links and the transcript's
sentences into buttons that seek the player, and follows playback.

It is written last, so that it can list every file the other writers made.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..errors import OutputError
from ..model import ChapterTiming, Sentence
from ..units import decimal_seconds, iso_duration, player_clock, size
from . import Edition, book_name, chapter_filename, offered
from .captions import CAPTIONS, CHAPTERS

PAGE = "index.html"
STATIC = ("player.css", "player.js")
SPEEDS = ("0.75", "1", "1.25", "1.5", "1.75", "2")


@dataclass(frozen=True)
class Download:
    """A file in the downloads list."""

    href: str
    label: str
    kind: str
    size: str
    download: bool = True


@dataclass(frozen=True)
class TextSentence:
    """A sentence of the transcript, with its span in seconds."""

    id: str
    text: str
    start: str
    end: str


@dataclass(frozen=True)
class Block:
    """A paragraph, quotation or list of the transcript."""

    kind: str
    items: tuple[tuple[TextSentence, ...], ...]


@dataclass(frozen=True)
class PageChapter:
    """A chapter as the page shows it: list entry, file and transcript."""

    number: int
    title: str
    start: str
    end: str
    clock: str
    datetime: str
    file: str
    heading: TextSentence
    blocks: tuple[Block, ...]



def _chapter(timing: ChapterTiming, sentences: dict[str, Sentence], edition: Edition
             ) -> PageChapter:
    text = [TextSentence(s.id, s.text, decimal_seconds(s.start_ms), decimal_seconds(s.end_ms))
            for s in timing.sentences]
    blocks: list[Block] = []
    # Sentences of one block form a paragraph; consecutive list items (each its own
    # block) form one list, and consecutive quoted paragraphs one quotation.
    for sentence in text[1:]:
        source = sentences[sentence.id]
        kind = source.kind if source.kind in ("quote", "list") else "paragraph"
        last = blocks[-1] if blocks else None
        same_block = last is not None and sentences[last.items[-1][-1].id].block == source.block
        if last is not None and same_block:
            items = (*last.items[:-1], (*last.items[-1], sentence))
            blocks[-1] = Block(last.kind, items)
        elif last is not None and last.kind == kind and kind in ("quote", "list"):
            blocks[-1] = Block(kind, (*last.items, (sentence,)))
        else:
            blocks.append(Block(kind, ((sentence,),)))
    return PageChapter(
        number=timing.number, title=timing.title, start=decimal_seconds(timing.start_ms),
        end=decimal_seconds(timing.end_ms), clock=player_clock(timing.start_ms),
        datetime=iso_duration(timing.start_ms), file=_chapter_link(edition, timing),
        heading=text[0], blocks=tuple(blocks))


def _chapter_link(edition: Edition, timing: ChapterTiming) -> str:
    """The chapter's own MP3; without one, the whole book from the chapter's start."""
    own = chapter_filename(timing, len(edition.timeline.chapters))
    if edition.path(own).is_file():
        return own
    return f"{book_name(edition, 'mp3')}#t={timing.start_ms / 1000:.3f}"


def downloads(edition: Edition) -> list[Download]:
    """What the outputs offer for download and wrote, in the registry's order, with sizes."""
    found = []
    for item in offered(edition.script):
        path = edition.path(item.name)
        if item.folder and path.is_file():
            total = sum(p.stat().st_size for p in path.parent.rglob("*") if p.is_file())
            found.append(Download(item.name, item.label, item.kind, size(total),
                                  download=False))
        elif path.is_file():
            found.append(Download(item.name, item.label, item.kind,
                                  size(path.stat().st_size)))
    return found


def _environment() -> Environment:
    return Environment(loader=PackageLoader("audioguide", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render_page(edition: Edition) -> str:
    """The page's HTML."""
    script = edition.script
    audio = edition.path(book_name(edition, "mp3"))
    if not audio.is_file():
        raise OutputError("the player page plays the whole-book MP3; render the mp3 format "
                          "too (-f mp3 -f page)", path=audio)
    sentences = {s.id: s for s in script.sentences()}
    chapters = [_chapter(c, sentences, edition) for c in edition.timeline.chapters]
    tracks = {name: edition.path(name).is_file() for name in (CAPTIONS, CHAPTERS)}
    return _environment().get_template("page.html.j2").render(
        script=script,
        narrator=edition.narrator,
        audio=book_name(edition, "mp3"),
        audio_size=size(audio.stat().st_size),
        duration=player_clock(edition.timeline.duration_ms),
        duration_iso=iso_duration(edition.timeline.duration_ms),
        chapters=chapters,
        captions=CAPTIONS if tracks[CAPTIONS] else None,
        chapter_track=CHAPTERS if tracks[CHAPTERS] else None,
        downloads=downloads(edition),
        has_cover=edition.cover.is_file(),
        speeds=SPEEDS,
        static=STATIC,
    )


def write(edition: Edition) -> list[Path]:
    html = render_page(edition)
    files = []
    static = resources.files("audioguide") / "static"
    for name in STATIC:
        target = edition.path(name)
        with resources.as_file(static / name) as source:
            shutil.copyfile(source, target)
        files.append(target)
    page = edition.path(PAGE)
    page.write_text(html, encoding="utf-8", newline="\n")
    return [page, *files]
