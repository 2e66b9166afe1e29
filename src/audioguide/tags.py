"""The one boundary to mutagen: the tags audioguide writes, built in one place.

Every call into mutagen goes through here, and its failures (its own errors and the
OS's) become an EncodeError naming the file. The ID3 frames that the book MP3 and the
chapter MP3s share are made by one function, so the files always agree.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import mutagen
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCOM,
    TCON,
    TIT2,
    TLAN,
    TPE1,
    TPE2,
    TRCK,
    CTOCFlags,
)
from mutagen.id3._tags import save_frame
from mutagen.mp4 import MP4, MP4Cover

from .errors import EncodeError
from .model import ChapterTiming, Script

NO_OFFSET = 0xFFFFFFFF
UNDETERMINED = "und"

# ISO 639-2 codes of the languages espeak-ng speaks best, for the language tags.
_ISO_639_2 = {
    "ar": "ara", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
    "es": "spa", "fa": "fas", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
    "hu": "hun", "it": "ita", "ja": "jpn", "ko": "kor", "nl": "nld", "no": "nor",
    "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sv": "swe", "tr": "tur",
    "uk": "ukr", "vi": "vie", "zh": "zho",
}


def iso639_2(language: str) -> str | None:
    """The three-letter code for a BCP 47 tag (en-US -> eng), if known."""
    primary = language.split("-")[0].lower()
    return primary if len(primary) == 3 and primary.isalpha() else _ISO_639_2.get(primary)


def language_code(script: Script) -> str:
    """The script's language as ISO 639-2, or `und` (undetermined) when it has none."""
    return iso639_2(script.language) or UNDETERMINED


class _ChapterOrderedID3(ID3):
    """ID3 tags whose CHAP frames are written in time order.

    mutagen orders frames by size; readers that list chapters in file order (ffmpeg,
    and so mpv) would then show them shuffled.
    """

    def _write(self, config: Any) -> bytearray:
        this: Any = self  # mutagen is untyped
        others: Any = ID3()
        for frame in this.values():
            if frame.FrameID != "CHAP":
                others.add(frame)
        data = bytearray(others._write(config))
        for chapter in sorted(this.getall("CHAP"), key=lambda frame: frame.start_time):
            data += save_frame(chapter, config=config)
        return data


def _id3(script: Script, narrator: str, title: str, comment: str) -> Any:
    """The frames every MP3 of an edition carries."""
    tags: Any = _ChapterOrderedID3()  # type: ignore[no-untyped-call]
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TALB(encoding=3, text=script.title))
    tags.add(TPE1(encoding=3, text=script.author))
    tags.add(TPE2(encoding=3, text=script.author))
    tags.add(TCON(encoding=3, text="Audiobook"))
    tags.add(TCOM(encoding=3, text=narrator))
    language = language_code(script)
    if language != UNDETERMINED:
        tags.add(TLAN(encoding=3, text=language))
    tags.add(COMM(encoding=3, lang=language, desc="", text=comment))
    return tags


def tag_book_mp3(path: Path, script: Script, narrator: str, cover: bytes,
                 chapters: tuple[ChapterTiming, ...]) -> None:
    """The book MP3's ID3v2.3 tags: cover, one ordered table of contents, a CHAP each."""
    tags = _id3(script, narrator, script.title,
                f"Narrated by {narrator}. {script.description}".strip())
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=cover))
    ids = [f"ch{c.number:03d}" for c in chapters]
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                  child_element_ids=ids, sub_frames=[TIT2(encoding=3, text=script.title)]))
    for element_id, chapter in zip(ids, chapters, strict=True):
        tags.add(CHAP(element_id=element_id, start_time=chapter.start_ms,
                      end_time=chapter.end_ms, start_offset=NO_OFFSET, end_offset=NO_OFFSET,
                      sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    save_id3(tags, path)


def tag_chapter_mp3(path: Path, script: Script, narrator: str, title: str, track: int) -> None:
    """A chapter file's ID3v2.3 tags: its title and its place in the book."""
    tags = _id3(script, narrator, title, f"Narrated by {narrator}")
    tags.add(TRCK(encoding=3, text=f"{track}/{len(script.chapters)}"))
    save_id3(tags, path)


def save_id3(tags: ID3, path: Path) -> None:
    """Save ID3v2.3 tags (the best supported version) and no ID3v1."""
    try:
        tags.save(path, v2_version=3, v1=0, padding=lambda info: 0)
    except (OSError, mutagen.MutagenError) as exc:
        raise EncodeError(f"cannot write the ID3 tags ({exc})", path=path) from None


def tag_m4b(path: Path, script: Script, narrator: str, cover: bytes) -> None:
    """The M4B's iTunes-style tags: an audiobook (stik 2) with its cover and narrator."""
    try:
        tags = MP4(path)
        tags["\xa9nam"] = [script.title]
        tags["\xa9alb"] = [script.title]
        tags["\xa9ART"] = [script.author]
        tags["aART"] = [script.author]
        tags["\xa9gen"] = ["Audiobook"]
        tags["\xa9wrt"] = [narrator]
        tags["\xa9cmt"] = [f"Narrated by {narrator}. {script.description}".strip()]
        tags["desc"] = [script.description or script.title]
        tags["stik"] = [2]
        tags["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_PNG)]
        tags.save()
    except (OSError, mutagen.MutagenError) as exc:
        raise EncodeError(f"cannot write the M4B tags ({exc})", path=path) from None


def length_ms(path: Path) -> int | None:
    """The length of an audio file as its header gives it, or None when it has none."""
    try:
        audio = mutagen.File(path)
    except (OSError, mutagen.MutagenError):
        return None
    length = getattr(getattr(audio, "info", None), "length", 0)
    return round(length * 1000) if length else None


def set_track_languages(path: Path, language: str) -> None:
    """Set the language of every track of an MP4 file (ISO 639-2) in place.

    ffmpeg tags the chapter text track it makes with the QuickTime code for English
    whatever the audio's language; the media header's packed code is rewritten here.
    """
    packed = 0
    for char in language:
        packed = (packed << 5) | (ord(char) - 0x60)
    try:
        with path.open("r+b") as handle:
            for offset in _media_headers(handle):
                handle.seek(offset)
                version = handle.read(1)[0]
                # version, flags, two dates, time scale, duration, then the language
                handle.seek(offset + 4 + (16 if version == 1 else 8) + 4
                            + (8 if version == 1 else 4))
                handle.write(struct.pack(">H", packed))
    except (OSError, IndexError, struct.error) as exc:
        raise EncodeError(f"cannot set the track languages ({exc})", path=path) from None


# Where the boxes that give chunk offsets sit, under moov, and their types.
_CHUNK_OFFSET_PATH = (b"trak", b"mdia", b"minf", b"stbl")
_CHUNK_OFFSETS = frozenset({b"stco", b"co64"})
COPY_BUFFER = 1 << 20


def moov_first(path: Path) -> None:
    """Put an MP4 file's index (moov) before its audio (mdat), so that a player can start
    before it has the whole file: what ffmpeg's `-movflags +faststart` does.

    ffmpeg's own pass holds the book's sample tables twice (some 40 MB for a 9-hour
    book, on top of the 60 MB its muxer already holds); this one holds the index once,
    moves every chunk offset by its size, and copies the audio through a 1 MB buffer.
    A 32-bit chunk offset (stco) that the move would overflow is an error: such files
    (near 4 GB) are made with ffmpeg's pass instead (publish/m4b.py).
    """
    staged = path.with_name(path.name + ".moov")
    try:
        with path.open("rb") as source:
            source.seek(0, 2)
            top = _spans(source, 0, source.tell())
            kinds = [kind for kind, _, _, _ in top]
            if b"moov" not in kinds or b"mdat" not in kinds or \
                    kinds.index(b"moov") < kinds.index(b"mdat"):
                return
            _, start, header, size = top[kinds.index(b"moov")]
            tables = [(kind, body - start) for kind, body in _within(
                source, start + header, start + size, _CHUNK_OFFSET_PATH, _CHUNK_OFFSETS)]
            source.seek(start)
            moov = bytearray(source.read(size))
            _shift_chunk_offsets(moov, tables, len(moov))
            with staged.open("wb") as target:
                for kind, start, _, size in top:
                    if kind == b"mdat":
                        target.write(moov)
                    if kind != b"moov":
                        source.seek(start)
                        _copy(source, target, size)
        staged.replace(path)
    except (OSError, IndexError, struct.error) as exc:
        staged.unlink(missing_ok=True)
        raise EncodeError(f"cannot move the M4B's index to its start ({exc})",
                          path=path) from None
    except EncodeError:
        staged.unlink(missing_ok=True)
        raise


def _copy(source: Any, target: Any, count: int) -> None:
    while count > 0:
        chunk = source.read(min(COPY_BUFFER, count))
        if not chunk:
            raise EncodeError("the MP4 file ends inside a box")
        target.write(chunk)
        count -= len(chunk)


def _shift_chunk_offsets(moov: bytearray, tables: list[tuple[bytes, int]], shift: int) -> None:
    """Add `shift` to every chunk offset in the moov box held in `moov`, whose stco and
    co64 boxes start their bodies at `tables` (type, offset in `moov`)."""
    import numpy as np  # a render that writes no M4B imports no numpy

    for kind, body in tables:
        count = struct.unpack_from(">I", moov, body + 4)[0]  # after version and flags
        dtype = ">u4" if kind == b"stco" else ">u8"
        table = np.frombuffer(moov, dtype=dtype, count=count, offset=body + 8)
        moved = table.astype(np.uint64) + np.uint64(shift)
        if kind == b"stco" and count and int(moved.max()) >= 1 << 32:
            raise EncodeError("the M4B is too large to move its index with 32-bit offsets")
        end = body + 8 + table.nbytes
        moov[body + 8:end] = moved.astype(dtype).tobytes()


def _media_headers(handle: Any) -> Iterator[int]:
    """The offset of the body of every `mdhd` box under moov/trak/mdia."""
    handle.seek(0, 2)
    for _, body in _within(handle, 0, handle.tell(), (b"moov", b"trak", b"mdia"), {b"mdhd"}):
        yield body


def _within(handle: Any, start: int, end: int, path: tuple[bytes, ...],
            kinds: Collection[bytes]) -> Iterator[tuple[bytes, int]]:
    """(type, body offset) of each box of `kinds` between `start` and `end`, reached
    through boxes of the types in `path`, one level each."""
    for kind, offset, header, size in _spans(handle, start, end):
        if not path:
            if kind in kinds:
                yield kind, offset + header
        elif kind == path[0]:
            yield from _within(handle, offset + header, offset + size, path[1:], kinds)


def _spans(handle: Any, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
    """(type, offset, header size, size) of each box between `start` and `end`."""
    found = []
    offset = start
    while offset + 8 <= end:
        handle.seek(offset)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", handle.read(8))[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise EncodeError("a damaged MP4 box")
        found.append((kind, offset, header, size))
        offset += size
    return found
