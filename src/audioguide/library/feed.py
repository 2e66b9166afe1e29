"""feed.xml: the library as a podcast feed (RSS 2.0 with the itunes, podcast and psc
namespaces), one item per edition with its whole-book MP3.

Built with ElementTree, so every title, description and chapter name is text: markup
stays inert and the XML well formed (characters XML forbids are dropped first).
"""

from __future__ import annotations

import email.utils
import html
import uuid
import xml.etree.ElementTree as ET

from .. import __version__
from ..publish.podcast import HOUR_MS
from ..units import hh_mm_ss, mm_ss, vtt_timestamp
from . import CATALOG, COVER, FEED, PAGE, EditionEntry, Library
from . import add_element as _add

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
PSC = "http://podlove.org/simple-chapters"
ATOM = "http://www.w3.org/2005/Atom"
NAMESPACES = {"itunes": ITUNES, "podcast": PODCAST, "psc": PSC, "atom": ATOM}
# Podcasting 2.0: a feed's guid is a UUIDv5 of its URL (no scheme) in this namespace.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
DESCRIPTION_BYTES = 4000

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def podcast_guid(feed_url: str) -> str:
    """The feed's podcast:guid: UUIDv5 of its URL without the scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def _ns(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut at a character."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit - 3].decode("utf-8", "ignore") + "..."


def episode_notes(edition: EditionEntry) -> list[list[str]]:
    """The episode's notes as paragraphs of lines: the content note first, then the
    description, the credit, one line per chapter (the first at 00:00) and the narrator."""
    stamp = hh_mm_ss if edition.duration_ms >= HOUR_MS else mm_ss
    source = edition.source_name + (f" ({edition.source_url})" if edition.source_url else "")
    paragraphs = []
    if edition.content_note:
        paragraphs.append([f"Content note: {edition.content_note}"])
    if edition.description:
        paragraphs.append([edition.description])
    paragraphs.append([f"By {edition.author}. First published by {source}."])
    paragraphs.append(["Chapters:", *(
        f"{stamp(c.start_ms)} {' '.join(c.title.split())}"
        for c in edition.chapters)])
    paragraphs.append([f"Narration: {edition.narrator.rstrip('.')}. This is "
                       "computer-generated speech, not a human reader."])
    return paragraphs


def as_text(paragraphs: list[list[str]]) -> str:
    """Notes as plain text (itunes:summary)."""
    return "\n\n".join("\n".join(lines) for lines in paragraphs)


def as_html(paragraphs: list[list[str]]) -> str:
    """Notes as the HTML that apps expect in a description, every line escaped: a title
    holding markup shows as text, never as markup."""
    return "".join("<p>" + "<br>".join(html.escape(line, quote=False) for line in lines)
                   + "</p>" for lines in paragraphs)


def feed(library: Library) -> bytes:
    """The feed document (needs a base URL)."""
    url = library.url
    feed_url = url(FEED)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _add(rss, "channel")
    _add(channel, "title", library.title)
    _add(channel, "link", library.home)
    _add(channel, "description", _fit(html.escape(library.settings.description, quote=False),
                                      DESCRIPTION_BYTES))
    _add(channel, "language", library.language)
    _add(channel, "generator", f"audioguide {__version__}")
    _add(channel, "lastBuildDate", email.utils.format_datetime(library.updated, usegmt=True))
    _add(channel, _ns(ATOM, "link"), rel="self", href=feed_url, type="application/rss+xml")
    _add(channel, _ns(ATOM, "link"), rel="related", href=url(CATALOG),
         type="application/atom+xml;profile=opds-catalog;kind=acquisition",
         title="OPDS catalogue of the EPUB talking books")
    _add(channel, _ns(ITUNES, "author"), library.author)
    owner = _add(channel, _ns(ITUNES, "owner"))
    _add(owner, _ns(ITUNES, "name"), library.author)
    if library.settings.email:
        _add(owner, _ns(ITUNES, "email"), library.settings.email)
    if library.cover is not None:
        _add(channel, _ns(ITUNES, "image"), href=url(library.cover))
        image = _add(channel, "image")
        _add(image, "url", url(library.cover))
        _add(image, "title", library.title)
        _add(image, "link", library.home)
    category = _add(channel, _ns(ITUNES, "category"), text=library.settings.category)
    if library.settings.subcategory:
        _add(category, _ns(ITUNES, "category"), text=library.settings.subcategory)
    _add(channel, _ns(ITUNES, "explicit"), "true" if library.settings.explicit else "false")
    _add(channel, _ns(ITUNES, "type"), "episodic")
    _add(channel, _ns(PODCAST, "guid"), podcast_guid(feed_url))
    if library.settings.email:
        _add(channel, _ns(PODCAST, "locked"), "yes", owner=library.settings.email)
    else:
        _add(channel, _ns(PODCAST, "locked"), "no")
    _add(channel, _ns(PODCAST, "medium"), "podcast")
    # The narration is synthetic: say so where apps and directories look for it.
    _add(channel, _ns(PODCAST, "txt"), "true", purpose="ai-content")
    for edition in library.editions:
        if edition.book("mp3") is not None:
            _item(channel, edition, library)
    ET.indent(rss)
    data: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _item(channel: ET.Element, edition: EditionEntry, library: Library) -> None:
    url = library.url
    mp3 = edition.book("mp3")
    assert mp3 is not None
    item = _add(channel, "item")
    _add(item, "title", edition.title)
    _add(item, _ns(ITUNES, "title"), edition.title)
    _add(item, "guid", f"urn:uuid:{edition.edition_id}", isPermaLink="false")
    _add(item, "pubDate", email.utils.format_datetime(edition.published, usegmt=True))
    if PAGE in edition.files:
        _add(item, "link", url(edition.path("")))
    notes = episode_notes(edition)
    _add(item, "description", _fit(as_html(notes), DESCRIPTION_BYTES))
    _add(item, _ns(ITUNES, "summary"), _fit(as_text(notes), DESCRIPTION_BYTES))
    _add(item, _ns(ITUNES, "author"), edition.author)
    _add(item, "enclosure", url=url(edition.versioned(mp3)),
         length=str(edition.files[mp3].bytes), type="audio/mpeg")
    _add(item, _ns(ITUNES, "duration"), str(round(edition.duration_ms / 1000)))
    _add(item, _ns(ITUNES, "episodeType"), "full")
    _add(item, _ns(ITUNES, "explicit"), "true" if library.settings.explicit else "false")
    if COVER in edition.files:
        # Apple wants the image URL to end in .png or .jpg: no version query here.
        _add(item, _ns(ITUNES, "image"), href=url(edition.path(COVER)))
    if "captions.vtt" in edition.files:
        _add(item, _ns(PODCAST, "transcript"), url=url(edition.versioned("captions.vtt")),
             type="text/vtt", rel="captions", language=edition.language)
    if "captions.srt" in edition.files:
        _add(item, _ns(PODCAST, "transcript"), url=url(edition.versioned("captions.srt")),
             type="application/x-subrip", rel="captions", language=edition.language)
    if PAGE in edition.files:
        _add(item, _ns(PODCAST, "transcript"), url=url(edition.versioned(PAGE)),
             type="text/html", language=edition.language)
    if "chapters.json" in edition.files:
        _add(item, _ns(PODCAST, "chapters"), url=url(edition.versioned("chapters.json")),
             type="application/json+chapters")
    m4b = edition.book("m4b")
    if m4b is not None:
        alternate = _add(item, _ns(PODCAST, "alternateEnclosure"), type="audio/mp4",
                         length=str(edition.files[m4b].bytes), title="Audiobook (M4B)")
        _add(alternate, _ns(PODCAST, "source"), uri=url(edition.versioned(m4b)))
    _add(item, _ns(PODCAST, "person"), edition.narrator, role="narrator", group="cast")
    chapters = _add(item, _ns(PSC, "chapters"), version="1.2")
    for chapter in edition.chapters:
        _add(chapters, _ns(PSC, "chapter"), start=vtt_timestamp(chapter.start_ms),
             title=chapter.title)
