"""index.html of the library: every edition with its downloads, and how to subscribe.

The same standards as an edition's page: one h1, a skip link, landmarks, text that
works without JavaScript (there is none) and Jinja2 autoescape for every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..units import iso_duration, player_clock, size
from . import CATALOG, COVER, FEED, PAGE, STYLE, EditionEntry, Library

# The edition's own files the library page links, in this order, when present.
LINKED = ("m4b", "mp3", "epub")


@dataclass(frozen=True)
class Link:
    """A link of an edition's entry."""

    href: str
    label: str
    detail: str


@dataclass(frozen=True)
class PageEdition:
    """An edition as the library page shows it."""

    id: str
    title: str
    author: str
    length: str
    length_iso: str
    content_note: str
    description: str
    page: str | None
    cover: str | None
    links: tuple[Link, ...]


def _edition(edition: EditionEntry) -> PageEdition:
    kinds = {d.name: d for d in edition.downloads}
    links = []
    for extension in LINKED:
        name = edition.book(extension)
        if name is None:
            continue
        download = kinds.get(name)
        label = download.label if download else name
        kind = download.kind if download else extension.upper()
        links.append(Link(edition.path(name), label,
                          f"{kind}, {size(edition.files[name].bytes)}"))
    return PageEdition(
        id=f"edition-{edition.slug}", title=edition.title, author=edition.author,
        length=player_clock(edition.duration_ms), length_iso=iso_duration(edition.duration_ms),
        content_note=edition.content_note, description=edition.description,
        page=edition.path("") if PAGE in edition.files else None,
        cover=edition.path(COVER) if COVER in edition.files else None, links=tuple(links))


def render(library: Library) -> str:
    """The page's HTML; the feed's address is shown when the library has a base URL."""
    environment = Environment(loader=PackageLoader("audioguide", "templates"), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    feed_url = library.url(FEED) if library.settings.base_url else None
    return environment.get_template("library.html.j2").render(
        library=library, editions=[_edition(e) for e in library.editions], feed_url=feed_url,
        catalog=CATALOG, catalog_url=library.url(CATALOG) if feed_url else CATALOG,
        style=STYLE, narrators=sorted({e.narrator for e in library.editions}))


def style() -> bytes:
    """The page's style sheet."""
    return (resources.files("audioguide") / "static" / STYLE).read_bytes()
