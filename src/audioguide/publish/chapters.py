"""One MP3 per chapter and an M3U8 playlist of them with titles.

The simplest navigation there is: any player, and any screen reader user
browsing files, can go straight to a chapter.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..tools import ffmpeg
from . import Edition, chapter_filename, register

MP3_BITRATE = "64k"
OUTPUT_RATE = 44100


def mp3_args(edition: Edition) -> list[str]:
    """ffmpeg options of every MP3 audioguide writes: mono 44.1 kHz CBR, ID3v2.3, no noise."""
    return ["-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE,
            "-id3v2_version", "3", "-write_id3v1", "0", "-fflags", "+bitexact",
            "-flags:a", "+bitexact"]


def write(edition: Edition) -> list[Path]:
    script = edition.script
    total = len(script.chapters)
    (edition.folder / "chapters").mkdir(exist_ok=True)

    def encode(index: int) -> Path:
        chapter = script.chapters[index]
        out = edition.path(chapter_filename(chapter))
        tags = {
            "title": chapter.title, "album": script.title, "artist": script.author,
            "album_artist": script.author, "genre": "Audiobook", "track": f"{index + 1}/{total}",
            "composer": edition.narrator, "comment": f"Narrated by {edition.narrator}",
            "language": script.language,
        }
        metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
        ffmpeg(["-i", edition.chapter_wavs[index].absolute(), "-map_metadata", "-1", *metadata,
                *mp3_args(edition), "-f", "mp3", out.absolute()], [out],
               f"encode chapter {index + 1}")
        return out

    with ThreadPoolExecutor(max_workers=max(1, edition.jobs)) as pool:
        files = list(pool.map(encode, range(total)))
    return [*files, write_playlist(edition)]


def write_playlist(edition: Edition) -> Path:
    """An extended M3U8 playlist of the chapter files, in order, with titles and lengths."""
    script = edition.script
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(script.title)}"]
    for chapter in edition.timeline.chapters:
        seconds = round(chapter.duration_ms / 1000)
        lines.append(f"#EXTINF:{seconds},{_one_line(script.author)} - {_one_line(chapter.title)}")
        lines.append(chapter_filename(chapter))
    path = edition.path(f"{script.slug}.m3u8")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())


register("chapters", write)
