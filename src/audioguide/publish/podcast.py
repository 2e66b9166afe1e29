"""chapters.json (Podcasting 2.0 JSON chapters) and shownotes.txt (an episode description).

Podcast apps that read the `podcast:chapters` tag fetch chapters.json; Spotify
ignores every kind of embedded chapter and reads timestamps from the episode
description instead, so the show notes list the chapters in the form it parses:
one `MM:SS Title` line each (`HH:MM:SS` once the book reaches an hour), the first
at 00:00, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..units import hh_mm_ss, json_seconds, mm_ss
from . import Edition, book_name
from .captions import chapter_spans

CHAPTERS_JSON = "chapters.json"
SHOWNOTES = "shownotes.txt"
JSON_CHAPTERS_VERSION = "1.2.0"
HOUR_MS = 3_600_000



def chapters_json(edition: Edition) -> dict[str, Any]:
    """The JSON chapters document: version, what it describes, chapters in ascending order."""
    script = edition.script
    return {
        "version": JSON_CHAPTERS_VERSION,
        "title": script.title,
        "author": script.author,
        "fileName": book_name(edition, "mp3"),
        "chapters": [
            {"startTime": json_seconds(start), "endTime": json_seconds(end),
             "title": chapter.title}
            for chapter, start, end in chapter_spans(edition)
        ],
    }



def shownotes(edition: Edition) -> str:
    """The episode description: title, credit, description, content note, chapter list."""
    script = edition.script
    stamp = hh_mm_ss if edition.timeline.duration_ms >= HOUR_MS else mm_ss
    source = script.source.name + (f" ({script.source.url})" if script.source.url else "")
    paragraphs = [f"{script.title}\nBy {script.author}. First published by {source}."]
    if script.description:
        paragraphs.append(script.description)
    if script.content_note:
        paragraphs.append(f"Content note: {script.content_note}")
    lines = ["Chapters:"]
    for chapter in edition.timeline.chapters:
        title = " ".join(chapter.title.split())
        lines.append(f"{stamp(chapter.start_ms)} {title}")
    paragraphs.append("\n".join(lines))
    paragraphs.append(f"Narration: {edition.narrator.rstrip('.')}.")
    return "\n\n".join(paragraphs) + "\n"


def write(edition: Edition) -> list[Path]:
    json_path = edition.path(CHAPTERS_JSON)
    json_path.write_text(json.dumps(chapters_json(edition), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    notes_path = edition.path(SHOWNOTES)
    notes_path.write_text(shownotes(edition), encoding="utf-8", newline="\n")
    return [json_path, notes_path]
