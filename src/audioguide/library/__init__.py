"""The library: every edition in an output folder, listed for people and for apps.

Next to the `<slug>/` folders it writes `index.html` (a page listing every edition, with
a plain-words guide to subscribing), `catalog.xml` (an OPDS catalogue of the EPUBs),
`feed.xml` (a podcast feed, only when the library has a base URL: a feed needs absolute
addresses) and `cover.png` (the feed's artwork). All of it is rebuilt from the editions'
manifest.json files alone, never by rendering; `library.json` remembers what it wrote
and when each edition was first published, so dates and the feed stay stable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import OutputError, UsageError
from ..publish import Download
from ..publish.manifest import MANIFEST, edition_id, file_digest, read_manifest

STATE = "library.json"
PAGE = "index.html"
STYLE = "library.css"
CATALOG = "catalog.xml"
FEED = "feed.xml"
COVER = "cover.png"
CONFIG = "audioguide.toml"
BASE_URL_VARIABLE = "AUDIOGUIDE_BASE_URL"
MEDIA_TYPES = {
    FEED: "application/rss+xml; charset=utf-8",
    CATALOG: "application/atom+xml;profile=opds-catalog;kind=acquisition; charset=utf-8",
}
NO_BASE_URL = (f"needs a base URL to be published (the address where the output folder will "
               f"be served): give --base-url URL, set {BASE_URL_VARIABLE}, or set base_url "
               f"in {CONFIG}")


@dataclass(frozen=True)
class Settings:
    """How the library presents itself; only the base URL has no sensible default."""

    base_url: str | None = None
    title: str = "Audio editions"
    description: str = ("Accessible audio editions of written articles, each with chapters, "
                        "captions and a transcript. Narrated by a synthetic voice.")
    author: str = ""
    email: str = ""
    category: str = "Arts"
    subcategory: str = "Books"
    language: str = ""
    explicit: bool = False


@dataclass(frozen=True)
class FileInfo:
    """A file of an edition as its manifest records it."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter of an edition, in whole-book time."""

    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class EditionEntry:
    """One edition, read from its manifest."""

    slug: str
    edition_id: str
    title: str
    author: str
    language: str
    narrator: str
    description: str
    content_note: str
    source_name: str
    source_url: str
    duration_ms: int
    chapters: tuple[ChapterEntry, ...]
    files: Mapping[str, FileInfo]
    downloads: tuple[Download, ...]
    published: datetime
    updated: datetime

    def path(self, name: str) -> str:
        """A file's path from the library folder: slug/name."""
        return f"{self.slug}/{name}"

    def versioned(self, name: str) -> str:
        """The file's path with its content hash: apps cache by URL, so new audio gets a new
        one, while the same audio keeps it."""
        return f"{self.path(name)}?v={self.files[name].sha256[:16]}"

    def book(self, extension: str) -> str | None:
        """The whole-book file with that extension, if the edition has it."""
        name = f"{self.slug}.{extension}"
        return name if name in self.files else None


@dataclass(frozen=True)
class Library:
    """Every edition of an output folder, newest first, and how to present them."""

    settings: Settings
    editions: tuple[EditionEntry, ...]
    cover: str | None

    @property
    def title(self) -> str:
        return self.settings.title

    @property
    def author(self) -> str:
        if self.settings.author:
            return self.settings.author
        return ", ".join(dict.fromkeys(e.author for e in self.editions)) or self.title

    @property
    def language(self) -> str:
        if self.settings.language:
            return self.settings.language
        return self.editions[0].language if self.editions else "en"

    @property
    def updated(self) -> datetime:
        return max((e.updated for e in self.editions), default=EPOCH)

    @property
    def home(self) -> str:
        """The library page's URL (needs a base URL)."""
        return self.url("")

    def url(self, path: str) -> str:
        """An absolute URL of a path of the library (needs a base URL)."""
        if self.settings.base_url is None:
            raise UsageError(f"{FEED} {NO_BASE_URL}")
        return urllib.parse.urljoin(self.settings.base_url, urllib.parse.quote(path, "/?=&"))


@dataclass(frozen=True)
class PublishResult:
    """What a publish wrote, and the note to show (no base URL) if any."""

    folder: Path
    written: tuple[str, ...]
    editions: int
    note: str | None = None


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def stamp(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC, to the second (Atom and library.json)."""
    return moment.astimezone(timezone.utc).strftime(_STAMP)


def normalize_base_url(url: str, origin: str) -> str:
    """An absolute http(s) URL ending in "/", or a UsageError naming where it came from."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or \
            parts.fragment or any(c.isspace() for c in url.strip()):
        raise UsageError(f"base URL {url!r} from {origin} is not an http(s) address such as "
                         "https://example.com/audio/")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def load_settings(config: Path | None = None, base_url: str | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """The settings: `[library]` of audioguide.toml, then the environment, then `base_url`."""
    settings = Settings()
    if config is not None and config.is_file():
        settings = _from_config(config)
    environ = os.environ if environ is None else environ
    if base_url:
        return replace(settings, base_url=normalize_base_url(base_url, "--base-url"))
    if environ.get(BASE_URL_VARIABLE):
        return replace(settings, base_url=normalize_base_url(environ[BASE_URL_VARIABLE],
                                                             BASE_URL_VARIABLE))
    return settings


def _from_config(config: Path) -> Settings:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read it ({exc})", path=config) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"is not valid TOML ({exc})", path=config) from None
    table = data.get("library", {})
    known = set(Settings.__dataclass_fields__)
    if not isinstance(table, dict) or set(table) - known:
        unknown = sorted(set(table) - known) if isinstance(table, dict) else ["library"]
        raise UsageError(f"[library] has an unknown key {unknown[0]!r}; keys are: "
                         f"{', '.join(sorted(known))}", path=config)
    values: dict[str, Any] = {}
    for key, value in table.items():
        wanted = bool if key == "explicit" else str
        if not isinstance(value, wanted):
            raise UsageError(f"[library] {key} must be a {wanted.__name__}", path=config)
        values[key] = value
    if values.get("base_url"):
        values["base_url"] = normalize_base_url(values["base_url"], str(config))
    else:
        values.pop("base_url", None)
    return Settings(**values)


def read_library(output: Path, settings: Settings, now: datetime | None = None) -> Library:
    """The library of `output` as the manifests and library.json describe it (reads only)."""
    state = _read_state(output)
    dates = state.get("editions", {})
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    editions = []
    for folder in sorted(output.iterdir()) if output.is_dir() else []:
        # An edition folder may be a link (a render publishes through it into its target).
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        editions.append(_entry(folder, manifest, dates, now))
    editions.sort(key=lambda e: (e.published, e.title), reverse=True)
    if (output / COVER).is_file():
        cover: str | None = COVER
    else:
        cover = next((e.path(COVER) for e in editions if COVER in e.files), None)
    return Library(settings, tuple(editions), cover)


def _entry(folder: Path, manifest: dict[str, Any], dates: dict[str, Any], now: datetime
           ) -> EditionEntry:
    slug = folder.name
    identity = str(manifest.get("edition_id") or edition_id(slug))
    files = {name: FileInfo(int(info.get("bytes", 0)), str(info.get("sha256", "")))
             for name, info in (manifest.get("files") or {}).items()}
    audio = files.get(f"{slug}.mp3")
    known = dates.get(identity, {})
    published = _date(known.get("published")) or now
    updated = _date(known.get("updated")) or now
    if audio is not None and known.get("audio") not in (None, audio.sha256):
        updated = now
    source = manifest.get("source") or {}
    return EditionEntry(
        slug=slug, edition_id=identity, title=str(manifest.get("title", slug)),
        author=str(manifest.get("author", "")), language=str(manifest.get("language", "en")),
        narrator=str(manifest.get("narrator", "")),
        description=str(manifest.get("description", "")),
        content_note=str(manifest.get("content_note", "")),
        source_name=str(source.get("name", "")), source_url=str(source.get("url", "")),
        duration_ms=int(manifest.get("duration_ms", 0)),
        chapters=tuple(ChapterEntry(str(c["title"]), int(c["start_ms"]), int(c["end_ms"]))
                       for c in manifest.get("chapters", [])),
        files=files,
        downloads=tuple(Download(str(d["file"]), str(d["label"]), str(d["kind"]),
                                 str(d["media_type"]), bool(d.get("folder", False)))
                        for d in manifest.get("downloads", []) if d.get("file") in files
                        or d.get("folder")),
        published=published, updated=updated)


def _date(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _read_state(output: Path) -> dict[str, Any]:
    try:
        data = json.loads((output / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def library_files(library: Library) -> dict[str, bytes]:
    """The library's text files, by name: the page, the catalogue, the feed if it can be."""
    from . import opds, page

    files = {PAGE: page.render(library).encode("utf-8"), STYLE: page.style(),
             CATALOG: opds.catalog(library)}
    if library.settings.base_url is not None:
        from . import feed

        files[FEED] = feed.feed(library)
    return files


def publish_library(output: Path, settings: Settings, now: datetime | None = None
                    ) -> PublishResult:
    """Rebuild the library files of `output` from its editions' manifests."""
    if not output.is_dir():
        raise UsageError("no such folder; render an edition into it first", path=output)
    with _lock(output):
        state = _read_state(output)
        ours = state.get("files", {})
        source = _fingerprint(output, settings)
        if state.get("source") == source and _unchanged(output, ours):
            return _result(output, settings, (), len(state.get("editions", {})))
        library = read_library(output, settings, now)
        if not library.editions:
            raise UsageError("holds no editions (no <slug>/manifest.json); render one first",
                             path=output)
        written = []
        cover_title = f"{settings.title}\n{library.author}"
        if not (output / COVER).is_file() or state.get("cover") != cover_title:
            _guard(output, COVER, ours)
            from ..publish.cover import draw_cover

            with _replacing(output / COVER) as temporary:
                draw_cover(temporary, settings.title, library.author, "Audio editions")
            written.append(COVER)
            library = replace(library, cover=COVER)
        for name, data in library_files(library).items():
            path = output / name
            if path.is_file() and path.read_bytes() == data:
                continue
            _guard(output, name, ours)
            with _replacing(path) as temporary:
                temporary.write_bytes(data)
            written.append(name)
        files = {name: digest for name, digest in ours.items() if (output / name).is_file()}
        files.update((name, file_digest(output / name)) for name in written)
        new_state = {
            "generator": "audioguide",
            "source": source,
            "cover": cover_title,
            "files": dict(sorted(files.items())),
            "editions": {e.edition_id: {
                "slug": e.slug, "published": stamp(e.published),
                "updated": stamp(e.updated),
                "audio": e.files[f"{e.slug}.mp3"].sha256 if f"{e.slug}.mp3" in e.files else None}
                for e in sorted(library.editions, key=lambda e: e.slug)},
        }
        text = json.dumps(new_state, indent=2, ensure_ascii=False) + "\n"
        if _read_text(output / STATE) != text:
            with _replacing(output / STATE) as temporary:
                temporary.write_text(text, encoding="utf-8")
    return _result(output, settings, tuple(written), len(library.editions))


def _result(output: Path, settings: Settings, written: tuple[str, ...], editions: int
            ) -> PublishResult:
    note = None
    if settings.base_url is None:
        verb = "was not updated" if (output / FEED).is_file() else "was not written"
        note = f"{output / FEED} {verb}: the podcast feed {NO_BASE_URL}"
    return PublishResult(output, written, editions, note)


def _fingerprint(output: Path, settings: Settings) -> str:
    """A hash of everything the library files are made of: the settings and the manifests."""
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode())
    for folder in sorted(output.iterdir()):
        manifest = folder / MANIFEST
        if not folder.name.startswith(".") and manifest.is_file():
            digest.update(folder.name.encode() + b"\0" + manifest.read_bytes() + b"\0")
    return digest.hexdigest()


def _unchanged(output: Path, ours: Mapping[str, str]) -> bool:
    """Every library file audioguide wrote is still there as it wrote it."""
    return bool(ours) and all((output / name).is_file() and file_digest(output / name) == digest
                              for name, digest in ours.items())


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _guard(output: Path, name: str, ours: Mapping[str, str]) -> None:
    """Never replace a file audioguide did not write, nor one changed since it did."""
    path = output / name
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file() or path.is_symlink() or name not in ours:
        raise OutputError("exists and was not written by audioguide; move it away or choose "
                          "another --output", path=path)
    if file_digest(path) != ours[name]:
        raise OutputError("was changed after audioguide wrote it; move it away (the library "
                          "files are rebuilt from the editions)", path=path)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it in one step once written."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise OutputError(f"cannot write the library ({exc.strerror})", path=path) from None
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def _lock(output: Path) -> Iterator[None]:
    """One library rebuild at a time in a folder."""
    try:
        handle = (output / ".library.lock").open("a+")
    except OSError as exc:
        raise OutputError(f"cannot create a lock file ({exc.strerror})", path=output) from None
    with handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_element(parent: ET.Element, tag: str, content: str | None = None, **attributes: str
                ) -> ET.Element:
    """A child element whose text and attribute values are plain text, fit for XML 1.0."""
    element = ET.SubElement(parent, tag, {name: plain(value) for name, value in
                                          attributes.items()})
    if content is not None:
        element.text = plain(content)
    return element


def plain(text: str) -> str:
    """Text safe in XML 1.0: characters it forbids (most control characters) removed."""
    return _NOT_XML.sub("", text)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
