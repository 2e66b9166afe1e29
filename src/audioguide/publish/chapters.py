"""One MP3 per chapter and an M3U8 playlist of them with titles.

The simplest navigation there is: any player, and any screen reader user
browsing files, can go straight to a chapter. Each file is the chapter's audio as
joined from its segments' encodes, tagged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mutagen.id3 import COMM, ID3, TALB, TCOM, TCON, TIT2, TLAN, TPE1, TPE2, TRCK

from ..errors import EncodeError
from . import Edition, chapter_filename, iso639_2


def write(edition: Edition) -> list[Path]:
    script = edition.script
    total = len(script.chapters)
    (edition.folder / "chapters").mkdir(exist_ok=True)
    files = []
    for index, chapter in enumerate(script.chapters):
        out = edition.path(chapter_filename(chapter))
        shutil.copyfile(edition.chapter_audio[index].mp3, out)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=chapter.title))
        tags.add(TALB(encoding=3, text=script.title))
        tags.add(TPE1(encoding=3, text=script.author))
        tags.add(TPE2(encoding=3, text=script.author))
        tags.add(TRCK(encoding=3, text=f"{index + 1}/{total}"))
        tags.add(TCON(encoding=3, text="Audiobook"))
        tags.add(TCOM(encoding=3, text=edition.narrator))
        if language := iso639_2(script.language):
            tags.add(TLAN(encoding=3, text=language))
        tags.add(COMM(encoding=3, lang="eng", desc="", text=f"Narrated by {edition.narrator}"))
        save_id3(tags, out)
        files.append(out)
    return [*files, write_playlist(edition)]


def save_id3(tags: ID3, path: Path) -> None:
    """Save ID3v2.3 tags (the best supported version) and no ID3v1."""
    try:
        tags.save(path, v2_version=3, v1=0, padding=lambda info: 0)
    except Exception as exc:  # mutagen raises its own and OS errors; report both the same way
        raise EncodeError(f"cannot write the ID3 tags ({exc})", path=path) from None


def write_playlist(edition: Edition) -> Path:
    """An extended M3U8 playlist of the chapter files, in order, with titles and lengths."""
    script = edition.script
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(script.title)}"]
    for chapter in edition.timeline.chapters:
        seconds = round(chapter.file_ms / 1000)
        lines.append(f"#EXTINF:{seconds},{_one_line(script.author)} - {_one_line(chapter.title)}")
        lines.append(chapter_filename(chapter))
    path = edition.path(f"{script.slug}.m3u8")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())
