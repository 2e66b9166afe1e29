"""catalog.xml: an OPDS 1.2 acquisition feed of the editions' EPUB talking books.

Thorium and other OPDS readers browse it and download each EPUB (with its cover);
links are relative to the catalogue, so it works wherever the folder is served.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from . import COVER, PAGE, EditionEntry, Library, stamp
from . import add_element as _add

ATOM = "http://www.w3.org/2005/Atom"
DCTERMS = "http://purl.org/dc/terms/"
ACQUISITION = "http://opds-spec.org/acquisition"
IMAGE = "http://opds-spec.org/image"
THUMBNAIL = "http://opds-spec.org/image/thumbnail"
CATALOG_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
LIBRARY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:audioguide:library")
ACCESSIBILITY = "http://schema.org/accessibilityFeature"



def catalog(library: Library) -> bytes:
    """The catalogue document."""
    # Atom as the default namespace (as OPDS readers expect to see it), declared on the root.
    feed = ET.Element("feed", {"xmlns": ATOM, "xmlns:dcterms": DCTERMS})
    _add(feed, "id", f"urn:uuid:{uuid.uuid5(LIBRARY_NAMESPACE, library.title)}")
    _add(feed, "title", library.title)
    _add(feed, "subtitle", library.settings.description)
    _add(feed, "updated", stamp(library.updated))
    author = _add(feed, "author")
    _add(author, "name", library.author)
    _add(feed, "link", rel="self", href="catalog.xml", type=CATALOG_TYPE)
    _add(feed, "link", rel="start", href="catalog.xml", type=CATALOG_TYPE)
    _add(feed, "link", rel="alternate", href=PAGE, type="text/html")
    for edition in library.editions:
        if edition.book("epub") is not None:
            _entry(feed, edition)
    ET.indent(feed)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _entry(feed: ET.Element, edition: EditionEntry) -> None:
    epub = edition.book("epub")
    assert epub is not None
    entry = _add(feed, "entry")
    _add(entry, "title", edition.title)
    _add(entry, "id", f"urn:uuid:{edition.edition_id}")
    _add(entry, "updated", stamp(edition.updated))
    _add(entry, "published", stamp(edition.published))
    author = _add(entry, "author")
    _add(author, "name", edition.author)
    _add(entry, "dcterms:language", edition.language)
    _add(entry, "dcterms:publisher", edition.source_name)
    summary = " ".join(part for part in (
        f"Content note: {edition.content_note}" if edition.content_note else "",
        edition.description,
        f"A talking book: the text with synchronized narration ({edition.narrator}).")
        if part)
    _add(entry, "summary", summary, type="text")
    _add(entry, "category", scheme=ACCESSIBILITY, term="synchronizedAudioText",
         label="Synchronized audio and text (EPUB media overlays)")
    _add(entry, "link", rel=ACQUISITION, href=edition.path(epub),
         type="application/epub+zip", title="EPUB 3 with media overlays",
         length=str(edition.files[epub].bytes))
    if COVER in edition.files:
        for relation in (IMAGE, THUMBNAIL):
            _add(entry, "link", rel=relation, href=edition.path(COVER), type="image/png")
    if PAGE in edition.files:
        _add(entry, "link", rel="alternate", href=edition.path(""), type="text/html",
             title="Player page with the transcript")
