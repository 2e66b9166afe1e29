"""One MP3 per chapter and an M3U8 playlist of them with titles.

The simplest navigation there is: any player, and any screen reader user
browsing files, can go straight to a chapter. Each file is the chapter's own join
of its segments' encodes (with room tone enough at its head and tail to stand
alone), tagged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import tags
from . import Edition, chapter_filename


def write(edition: Edition) -> list[Path]:
    script = edition.script
    (edition.folder / "chapters").mkdir(exist_ok=True)
    files = []
    for index, chapter in enumerate(script.chapters):
        out = edition.path(chapter_filename(chapter, len(script.chapters)))
        write_chapter_mp3(edition, index, out)
        files.append(out)
    return [*files, write_playlist(edition)]


def write_chapter_mp3(edition: Edition, index: int, out: Path) -> None:
    """A chapter's own file with its ID3 tags: the same bytes wherever an output needs it
    (the talking book's copies are then shared with chapters/ instead of stored twice)."""
    script = edition.script
    shutil.copyfile(edition.chapter_audio[index].mp3, out)
    tags.tag_chapter_mp3(out, script, edition.narrator, script.chapters[index].title, index + 1)


def write_playlist(edition: Edition) -> Path:
    """An extended M3U8 playlist of the chapter files, in order, with titles and lengths."""
    script = edition.script
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(script.title)}"]
    for chapter in edition.timeline.chapters:
        seconds = round(chapter.file_ms / 1000)
        lines.append(f"#EXTINF:{seconds},{_one_line(script.author)} - {_one_line(chapter.title)}")
        lines.append(chapter_filename(chapter, len(edition.timeline.chapters)))
    path = edition.path(f"{script.slug}.m3u8")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())
