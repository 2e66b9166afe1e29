"""audioguide's own outputs, declared as any package would declare one.

They are registered through the `audioguide.outputs` entry point in pyproject.toml.
The declarations import nothing heavy: a writer's module (mutagen, Pillow, Jinja2)
is imported only when it writes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UsageError
from ..model import Script
from . import Declared, Download, book_name, chapter_filename
from .captions import CAPTIONS, CHAPTERS, SUBRIP
from .podcast import CHAPTERS_JSON, SHOWNOTES

# ffmpeg writes the CTOC's child count in one byte, and players stop reading past it.
MP3_MAX_CHAPTERS = 255
# ffmpeg cuts the Nero chapter list (which many players and mutagen read) at 255 without
# a word, although the QuickTime chapter track keeps them all.
M4B_MAX_CHAPTERS = 255
MP3 = "audio/mpeg"


def _chapter_limit(name: str, limit_name: str, what: str) -> Callable[[Script], None]:
    def check(script: Script) -> None:
        limit: int = globals()[limit_name]
        if len(script.chapters) > limit:
            raise UsageError(f"{what.format(limit)}; this script has {len(script.chapters)}: "
                             f"merge chapters, or leave out the {name} format", path=script.path)
    return check


def _chapter_files(script: Script) -> tuple[Download, ...]:
    count = len(script.chapters)
    return (*(Download(chapter_filename(c, count), f"Chapter {c.number}: {c.title}", "MP3", MP3)
              for c in script.chapters),
            Download(book_name(script, "m3u8"), "Playlist of the chapter files", "M3U8",
                     "audio/x-mpegurl"))


COVER = Declared("cover", "audioguide.publish.cover:write", media_types={".png": "image/png"})
M4B = Declared(
    "m4b", "audioguide.publish.m4b:write", after=("cover",),
    media_types={".m4b": "audio/mp4"},
    preflight=_chapter_limit("m4b", "M4B_MAX_CHAPTERS", "an M4B can list at most {} chapters "
                             "in its Nero chapter list (ffmpeg would cut the rest)"),
    listed=lambda script: (Download(book_name(script, "m4b"), "Audiobook with chapters", "M4B",
                                    "audio/mp4"),))
MP3_BOOK = Declared(
    "mp3", "audioguide.publish.mp3:write", after=("cover",), media_types={".mp3": MP3},
    preflight=_chapter_limit("mp3", "MP3_MAX_CHAPTERS", "an MP3 can list at most {} chapters"),
    listed=lambda script: (Download(book_name(script, "mp3"), "Whole book with chapters",
                                    "MP3", MP3),))
CHAPTER_FILES = Declared(
    "chapters", "audioguide.publish.chapters:write",
    media_types={".mp3": MP3, ".m3u8": "audio/x-mpegurl"}, listed=_chapter_files)
EPUB = Declared(
    "epub", "audioguide.publish.epub:write", after=("cover",),
    media_types={".epub": "application/epub+zip"},
    listed=lambda script: (Download(book_name(script, "epub"),
                                    "E-book with synchronized narration", "EPUB 3",
                                    "application/epub+zip"),))
CAPTION_TRACKS = Declared(
    "captions", "audioguide.publish.captions:write",
    media_types={".vtt": "text/vtt; charset=utf-8", ".srt": "application/x-subrip"},
    listed=lambda script: (Download(CAPTIONS, "Captions", "WebVTT", "text/vtt"),
                           Download(CHAPTERS, "Chapter markers", "WebVTT", "text/vtt"),
                           Download(SUBRIP, "Captions", "SubRip", "application/x-subrip")))
PODCAST = Declared(
    "podcast", "audioguide.publish.podcast:write",
    # Podcasting 2.0: JSON chapters are served with their own media type.
    media_types={CHAPTERS_JSON: "application/json+chapters"},
    listed=lambda script: (
        Download(CHAPTERS_JSON, "Podcast chapters", "JSON", "application/json+chapters"),
        Download(SHOWNOTES, "Show notes", "plain text", "text/plain")))
DAISY = Declared(
    "daisy", "audioguide.publish.daisy:write", media_types={".smil": "application/smil+xml"},
    listed=lambda script: (Download("daisy/ncc.html",
                                    "DAISY 2.02 talking book (a folder; open ncc.html)",
                                    "DAISY", "text/html", folder=True),))
AUDIOBOOKSHELF = Declared("audiobookshelf", "audioguide.publish.audiobookshelf:write")
PAGE = Declared("page", "audioguide.publish.page:write", after=("*",))

# In the order the page lists their downloads: the books first.
OUTPUTS = (COVER, M4B, MP3_BOOK, CHAPTER_FILES, EPUB, CAPTION_TRACKS, PODCAST, DAISY,
           AUDIOBOOKSHELF, PAGE)
