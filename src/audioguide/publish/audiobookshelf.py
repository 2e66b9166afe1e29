"""Sidecar files for audiobookshelf: metadata.json, desc.txt and reader.txt.

An audiobookshelf library pointed at the output folder reads these beside the audio
instead of guessing from tags (where it would take the composer for the narrator).
Chapters are the M4B's and MP3's, in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import Edition

METADATA = "metadata.json"
DESCRIPTION = "desc.txt"
READER = "reader.txt"


def metadata(edition: Edition) -> dict[str, Any]:
    """The book as audiobookshelf's metadata.json describes one."""
    script = edition.script
    return {
        "title": script.title,
        "subtitle": None,
        "authors": [script.author],
        "narrators": [edition.narrator],
        "series": [],
        "genres": ["Audiobook"],
        "tags": ["synthetic narration"],
        "publisher": script.source.name,
        "description": description(edition),
        "language": script.language,
        "explicit": False,
        "abridged": False,
        "chapters": [
            {"id": index, "start": chapter.start_ms / 1000, "end": chapter.end_ms / 1000,
             "title": chapter.title}
            for index, chapter in enumerate(edition.timeline.chapters)
        ],
    }


def description(edition: Edition) -> str:
    """The content note first, then the description, then the synthetic narrator named."""
    script = edition.script
    parts = [f"Content note: {script.content_note}" if script.content_note else "",
             script.description, f"Narration: {edition.narrator.rstrip('.')}."]
    return "\n\n".join(part for part in parts if part)


def write(edition: Edition) -> list[Path]:
    files = [edition.path(METADATA), edition.path(DESCRIPTION), edition.path(READER)]
    texts = [json.dumps(metadata(edition), indent=2, ensure_ascii=False) + "\n",
             description(edition) + "\n", edition.narrator + "\n"]
    for path, text in zip(files, texts, strict=True):
        path.write_text(text, encoding="utf-8", newline="\n")
    return files
