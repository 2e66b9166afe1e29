"""manifest.json: what was rendered from what, the chapter table, and every file's hash.

`render --check` and the no-op re-render read it back: the edition is fresh when
its input key matches and every listed file is still there, unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from ..model import SentenceTiming
from ..tools import ffmpeg_version
from . import Edition, chapter_filename, offered

MANIFEST = "manifest.json"
EDITION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:audioguide:edition")


def edition_id(slug: str) -> str:
    """An edition's identity, kept through every re-render: a UUID of its folder's name.

    Podcast apps and catalogues know an edition by it; the audio it names may change.
    """
    return str(uuid.uuid5(EDITION_NAMESPACE, slug))


def file_digest(path: Path) -> str:
    """The sha256 of a file, read in pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _sentence(sentence: SentenceTiming) -> dict[str, Any]:
    """A sentence's times, its words' times, and where another voice than the narrator's
    speaks in it (only for a sentence with quoted speech)."""
    entry: dict[str, Any] = {
        "id": sentence.id, "text": sentence.text, "start_ms": sentence.start_ms,
        "end_ms": sentence.end_ms, "start_in_chapter_ms": sentence.start_in_chapter_ms,
        "end_in_chapter_ms": sentence.end_in_chapter_ms,
        "words": [{"text": w.text, "start_ms": w.start_ms, "end_ms": w.end_ms}
                  for w in sentence.words]}
    if sentence.voices:
        entry["voices"] = [{"voice": role, "start_ms": start, "end_ms": end}
                           for role, start, end in sentence.voices]
    return entry


def build(edition: Edition, input_key: str, engine_identity: str, loudness: dict[str, float],
          files: list[Path], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's content (deterministic: no dates, sorted files).

    `inputs` are what the input key is a hash of, kept so that a plan can say which
    of them changed.
    """
    from .. import __version__

    script = edition.script
    names = {path.relative_to(edition.folder).as_posix() for path in files}
    return {
        "audioguide": __version__,
        "input_key": input_key,
        "inputs": inputs or {},
        "script": {"file": script.path.name, "sha256": script.digest,
                   "lexicon": lexicon_digest(script.lexicon)},
        "title": script.title,
        "author": script.author,
        "language": script.language,
        "narrator": edition.narrator,
        "engine": engine_identity,
        **({"quote_voice": script.quotes.voice} if script.quotes else {}),
        "encoder": f"ffmpeg {ffmpeg_version()}",
        "formats": list(edition.formats),
        "loudness": loudness,
        "duration_ms": edition.timeline.duration_ms,
        "chapters": [
            {
                "number": c.number, "title": c.title, "slug": c.slug,
                "start_ms": c.start_ms, "end_ms": c.end_ms,
                "file": chapter_filename(c, len(edition.timeline.chapters)),
                "file_ms": c.file_ms,
                "sentences": [_sentence(s) for s in c.sentences],
            }
            for c in edition.timeline.chapters
        ],
        "files": {
            path.relative_to(edition.folder).as_posix(): {
                "bytes": path.stat().st_size, "sha256": file_digest(path)}
            for path in sorted(files)
        },
        # What a library (its page, feed and catalogue) needs beyond the above.
        "edition_id": edition_id(script.slug),
        "slug": script.slug,
        "description": script.description,
        "content_note": script.content_note,
        "source": {"name": script.source.name, "url": script.source.url},
        "downloads": [
            {"file": item.name, "label": item.label, "kind": item.kind,
             "media_type": item.media_type, **({"folder": True} if item.folder else {})}
            for item in offered(script) if item.name in names
        ],
    }


def lexicon_digest(lexicon: tuple[tuple[str, str], ...]) -> str:
    """A hash of a script's lexicon (its entries, wherever they are written)."""
    return hashlib.sha256(json.dumps(lexicon, ensure_ascii=False).encode()).hexdigest()


def write_manifest(edition: Edition, content: dict[str, Any]) -> Path:
    path = edition.path(MANIFEST)
    # Streamed to the file: json.dumps with an indent joins a list of every piece of the
    # text (a long book's words make it millions) before it returns.
    with path.open("w", encoding="utf-8") as out:
        json.dump(content, out, indent=2, ensure_ascii=False)
        out.write("\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a published edition, or None when there is none that audioguide wrote.

    Another program's manifest.json (a web app's, say) is not audioguide's: it has no
    `audioguide` version, no input key and no table of files.
    """
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and isinstance(data.get("audioguide"), str)
            and isinstance(data.get("input_key"), str) and isinstance(data.get("files"), dict)):
        return None
    return data


def user_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Files in a published edition that its manifest does not list: someone else put them there."""
    listed = {*manifest["files"], MANIFEST}
    found = []
    for root, folders, names in os.walk(folder):
        here = Path(root)
        # A link to a folder is one entry, not a tree to walk into.
        names += [name for name in folders if (here / name).is_symlink()]
        for name in names:
            relative = (here / name).relative_to(folder).as_posix()
            if relative not in listed:
                found.append(relative)
    return sorted(found)


def problems(folder: Path, input_key: str) -> list[str]:
    """Why the edition in `folder` is not a fresh render of `input_key` (empty when fresh)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{folder / MANIFEST} is missing or unreadable"]
    if manifest.get("input_key") != input_key:
        return ["the script or the render settings changed since it was rendered"]
    found = []
    for name, info in (manifest.get("files") or {}).items():
        path = folder / name
        if not path.is_file():
            found.append(f"{name} is missing")
        elif path.stat().st_size != info.get("bytes") or file_digest(path) != info.get("sha256"):
            found.append(f"{name} was changed after rendering")
    return found
