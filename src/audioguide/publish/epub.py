"""The talking book as EPUB 3: the text of every chapter synchronized with its audio.

One XHTML document per chapter, every sentence a span whose id is the sentence id;
one SMIL 3.0 media overlay per chapter pairing each sentence with its stretch of the
chapter MP3 (the audio of chapters/NN-slug.mp3); a navigation document, a cover,
and EPUB Accessibility 1.1 metadata in the package.

Timing. A sentence's clip runs from the start of that sentence to the start of
the next one in its chapter's own MP3 (the last to the end of the file, the
first from the very start, so it carries the room tone that opens the chapter).
The clips therefore tile the chapter audio exactly: a reading system that plays
them one after the other plays the pauses the assembly placed between sentences,
as the MP3 does, instead of jumping over them, and the highlight moves the
moment the next sentence starts. It follows that an overlay's media:duration,
defined as the sum of its clips, is the length of its chapter file, and the
book's media:duration, the sum of the overlays, is the length of the whole
recording.

The file is a deterministic ZIP: `mimetype` first and stored, the other entries
sorted, fixed timestamps, so the same render is byte-identical.
"""

from __future__ import annotations

import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import jinja2

from ..model import BlockKind, Chapter, ChapterTiming, Script, Sentence
from ..units import smil_clock
from . import Edition, book_name, chapter_stem

# dcterms:modified (and the DAISY book's dc:date) must not come from the clock: a
# render is a pure function of the script and of audioguide, which is what makes
# a re-render byte-identical and the freshness check of a published edition hold.
# The identifier already changes whenever the script does (it is derived from the
# script's digest), so the date only has to tell two releases of the same script
# apart when audioguide changes what it writes: it is the date of the current
# talking-book output, moved forward together with render.OUTPUT_VERSION.
OUTPUT_DATE = datetime(2026, 12, 1, tzinfo=timezone.utc)

# uuid5 namespace of audioguide's book identifiers (itself a uuid5 of a fixed name).
IDENTIFIER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:audioguide:talking-book")

ACTIVE_CLASS = "-epub-media-overlay-active"
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Primary language subtags written right to left.
RTL_LANGUAGES = frozenset("ar arc ckb dv fa he ps sd syr ug ur yi".split())


@dataclass(frozen=True)
class Par:
    """One sentence of a chapter paired with its clip of the chapter audio (ms)."""

    sentence: Sentence
    begin_ms: int
    end_ms: int

    @property
    def id(self) -> str:
        return self.sentence.id


@dataclass(frozen=True)
class Block:
    """A run of sentences shown together: a paragraph, a quotation or a list.

    `items` are the paragraphs of a quotation or the items of a list; a plain
    paragraph has one item.
    """

    kind: BlockKind
    items: tuple[tuple[Sentence, ...], ...]


def book_identifier(script: Script) -> str:
    """A stable urn:uuid for the book: the same script always gets the same one."""
    return f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, script.digest)}"


def chapter_pars(chapter: Chapter, timing: ChapterTiming) -> tuple[Par, ...]:
    """The clips of a chapter's sentences, tiling its own audio file from start to end."""
    starts = {s.id: s.start_in_chapter_ms for s in timing.sentences}
    begins = [starts[s.id] for s in chapter.sentences]
    begins[0] = 0
    ends = [*begins[1:], timing.file_ms]
    return tuple(Par(s, b, e) for s, b, e in zip(chapter.sentences, begins, ends, strict=True))


def book_pars(edition: Edition) -> list[tuple[Chapter, tuple[Par, ...]]]:
    """Every chapter with its pars, in reading order."""
    return [(chapter, chapter_pars(chapter, timing)) for chapter, timing in zip(
        edition.script.chapters, edition.timeline.chapters, strict=True)]


def blocks(chapter: Chapter) -> list[Block]:
    """The chapter's sentences after its heading, grouped as the script wrote them.

    Sentences of one Markdown block form one paragraph (or list item); consecutive
    list items form one list, consecutive quoted paragraphs one quotation.
    """
    groups: list[list[Sentence]] = []
    for sentence in chapter.sentences[1:]:
        if groups and groups[-1][0].block == sentence.block:
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    result: list[Block] = []
    for group in groups:
        kind = group[0].kind
        if kind in ("quote", "list") and result and result[-1].kind == kind:
            result[-1] = replace(result[-1], items=(*result[-1].items, tuple(group)))
        else:
            result.append(Block(kind, (tuple(group),)))
    return result


def direction(language: str) -> str:
    """The writing direction of a BCP 47 language tag: "rtl" or "ltr"."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def isolated_direction(text: str, book_direction: str) -> str | None:
    """"auto" when a sentence holds text written the other way, so it is laid out on its own."""
    other = ("L",) if book_direction == "rtl" else ("R", "AL")
    return "auto" if any(unicodedata.bidirectional(ch) in other for ch in text) else None



@cache
def templates() -> jinja2.Environment:
    """The Jinja2 templates of the talking books, escaping every value."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("audioguide", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def render_template(name: str, **context: object) -> bytes:
    return templates().get_template(name).render(**context).encode("utf-8")


def chapter_mp3s(edition: Edition) -> list[Path]:
    """The chapter MP3s the books carry: each chapter's encode, as chapters/ publishes it.

    The encodes are taken as they are, without the ID3 tags of chapters/ (a book
    carries its own metadata), so the books do not depend on that output being
    asked for.
    """
    return [audio.mp3 for audio in edition.chapter_audio]


def write_zip(path: Path, entries: Iterable[tuple[str, bytes | Path]]) -> None:
    """An EPUB container: mimetype first and stored, the rest sorted, fixed metadata."""
    items = sorted(entries, key=lambda item: item[0])
    with zipfile.ZipFile(path, "w") as archive:
        _add(archive, "mimetype", b"application/epub+zip", zipfile.ZIP_STORED)
        for name, content in items:
            data = content.read_bytes() if isinstance(content, Path) else content
            # Audio and images are compressed already: deflating them gains nothing.
            method = (zipfile.ZIP_STORED if name.endswith((".mp3", ".png"))
                      else zipfile.ZIP_DEFLATED)
            _add(archive, name, data, method)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, method: int) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = method
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    archive.writestr(info, data, compress_type=method, compresslevel=9)


@dataclass(frozen=True)
class _Doc:
    """One chapter's files inside the EPUB."""

    number: int
    chapter: Chapter
    pars: tuple[Par, ...]
    count: int

    @property
    def stem(self) -> str:
        return chapter_stem(self.chapter, self.count)

    @property
    def text(self) -> str:
        return f"text/{self.stem}.xhtml"

    @property
    def overlay(self) -> str:
        return f"smil/{self.stem}.smil"

    @property
    def audio(self) -> str:
        return f"audio/{self.stem}.mp3"

    @property
    def section_id(self) -> str:
        return f"ch{self.number:02d}"

    @property
    def duration_ms(self) -> int:
        return sum(par.end_ms - par.begin_ms for par in self.pars)


def write(edition: Edition) -> list[Path]:
    script = edition.script
    count = len(edition.script.chapters)
    docs = [_Doc(chapter.number, chapter, pars, count) for chapter, pars in book_pars(edition)]
    audio = chapter_mp3s(edition)
    lang = script.language
    book_dir = direction(lang)
    english_ui = None if lang.split("-")[0].lower() == "en" else "en"
    common = {"script": script, "lang": lang, "dir": book_dir, "ui_lang": english_ui}

    entries: list[tuple[str, bytes | Path]] = [
        ("META-INF/container.xml", render_template("epub_container.xml")),
        ("EPUB/css/book.css", render_template("epub_book.css", active_class=ACTIVE_CLASS)),
        ("EPUB/images/cover.png", edition.cover),
        ("EPUB/text/cover.xhtml", render_template("epub_cover.xhtml", **common)),
        ("EPUB/nav.xhtml", render_template("epub_nav.xhtml", docs=docs, **common)),
        ("EPUB/package.opf", render_template(
            "epub_package.opf", docs=docs, identifier=book_identifier(script),
            modified=OUTPUT_DATE.strftime("%Y-%m-%dT%H:%M:%SZ"), narrator=edition.narrator,
            total=smil_clock(sum(doc.duration_ms for doc in docs)), clock=smil_clock,
            active_class=ACTIVE_CLASS, conformance=CONFORMANCE, **common)),
    ]
    for doc, mp3 in zip(docs, audio, strict=True):
        entries.append((f"EPUB/{doc.text}", render_template(
            "epub_chapter.xhtml", doc=doc, heading=doc.chapter.heading,
            blocks=blocks(doc.chapter), isolate=lambda text: isolated_direction(text, book_dir),
            **common)))
        entries.append((f"EPUB/{doc.overlay}", render_template(
            "epub_overlay.smil", doc=doc, clock=smil_clock)))
        entries.append((f"EPUB/{doc.audio}", mp3))
    out = edition.path(book_name(edition, "epub"))
    write_zip(out, entries)
    return [out]
