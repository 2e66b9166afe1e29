"""The render cache kept bounded: its size, what the published editions use, pruning.

The cache holds narrated clips (`clips/`) and encoded segments (`segments/`), each
named by its content key. Every render records which entries its edition used
(`uses/`, one record per edition folder) and marks them used now, so that `prune` can
keep what the editions in an output folder need and drop the rest, or drop what has not
been used for a while, or the least recently used beyond a size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, UsageError
from .publish.manifest import read_manifest

KINDS = ("clips", "segments")
USES = "uses"
# Staging files of a render that was killed: anything this old is not in use.
STALE_S = 3600
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*$", re.I)


@dataclass(frozen=True)
class Entry:
    """One cached clip or encoded segment: its files, their bytes and when it was last used."""

    kind: str
    key: str
    files: tuple[Path, ...]
    bytes: int
    used: float  # seconds since the epoch


@dataclass(frozen=True)
class Usage:
    """How big a cache is."""

    root: Path
    clips: int
    segments: int
    bytes: int


@dataclass(frozen=True)
class Pruned:
    """What a prune removed and what is left."""

    removed: int
    freed: int
    left: Usage


def parse_size(text: str) -> int:
    """Bytes from '500MB', '2G', '750k' or '1000000'."""
    match = _SIZE.match(text)
    if match is None:
        raise UsageError(f"{text!r} is not a size such as 500MB or 2GB")
    scale: int = 1000 ** " KMG".index((match.group(2) or " ").upper())
    return round(float(match.group(1)) * scale)


def entries(root: Path) -> tuple[list[Entry], list[Path]]:
    """The cache's entries, and leftover files of renders that were stopped."""
    found: list[Entry] = []
    leftovers: list[Path] = []
    for kind in KINDS:
        groups: dict[str, list[os.DirEntry[str]]] = {}
        for folder in _folders(root / kind):
            for item in _scan(folder):
                if item.name.startswith("."):
                    leftovers.append(Path(item.path))
                else:
                    groups.setdefault(item.name.split(".")[0], []).append(item)
        for key, items in groups.items():
            stats = [item.stat(follow_symlinks=False) for item in items]
            found.append(Entry(kind, key, tuple(Path(item.path) for item in items),
                               sum(s.st_size for s in stats), max(s.st_mtime for s in stats)))
    return found, leftovers


def usage(root: Path) -> Usage:
    """The size of the cache at `root` (an absent cache is empty)."""
    found, leftovers = entries(root)
    size = sum(e.bytes for e in found) + sum(_size(p) for p in leftovers)
    return Usage(root, sum(e.kind == "clips" for e in found),
                 sum(e.kind == "segments" for e in found), size)


def record_use(root: Path, edition: Path, input_key: str, clips: Iterable[str],
               segments: Iterable[str]) -> None:
    """Remember which entries the edition in `edition` was made from, and mark them used now.

    The record only guides `prune`: when it cannot be written, the render stands.
    """
    record = {"edition": str(edition.absolute()), "input_key": input_key,
              "clips": sorted(set(clips)), "segments": sorted(set(segments))}
    now = time.time()
    with contextlib.suppress(OSError):
        for kind in KINDS:
            for key in record[kind]:
                for path in (root / kind / key[:2]).glob(f"{key}.*"):
                    os.utime(path, (now, now))
        folder = root / USES
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_edition_id(edition)}.json"
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        staged.write_text(json.dumps(record), encoding="utf-8")
        os.replace(staged, path)


def in_use(root: Path, outputs: Iterable[Path]) -> set[str]:
    """The keys of the entries that the published editions in `outputs` were made from."""
    keys: set[str] = set()
    editions = 0
    for output in outputs:
        for folder in _folders(output):
            manifest = read_manifest(folder)
            if manifest is None:
                continue
            editions += 1
            try:
                record = json.loads((root / USES / f"{_edition_id(folder)}.json")
                                    .read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("input_key") == manifest["input_key"]:
                for kind in KINDS:
                    keys.update(record.get(kind) or ())
    if not editions:
        # Pruning against an empty or mistyped folder would empty the whole cache.
        names = ", ".join(str(o) for o in outputs)
        raise UsageError(f"no published editions in {names}; name the output folder with -o, "
                         "or prune with --older-than or --max-size")
    return keys


def prune(root: Path, *, outputs: Iterable[Path] = (), older_than_s: float | None = None,
          max_bytes: int | None = None, dry_run: bool = False) -> Pruned:
    """Remove entries from the cache at `root`.

    By default what no published edition in `outputs` uses; with `older_than_s`, what
    has not been used for that long; with `max_bytes`, the least recently used until
    the cache is no bigger.
    """
    if not root.is_dir():
        raise UsageError("there is no cache here; give the folder with --cache", path=root)
    found, leftovers = entries(root)
    now = time.time()
    doomed: list[Entry] = []
    if older_than_s is None and max_bytes is None:
        keep = in_use(root, outputs)
        doomed = [e for e in found if e.key not in keep]
    else:
        if older_than_s is not None:
            doomed = [e for e in found if now - e.used > older_than_s]
        if max_bytes is not None:
            chosen = {id(e) for e in doomed}
            rest = sorted((e for e in found if id(e) not in chosen), key=lambda e: e.used)
            size = sum(e.bytes for e in rest)
            for oldest in rest:
                if size <= max_bytes:
                    break
                doomed.append(oldest)
                size -= oldest.bytes
    stale = [p for p in leftovers if now - _mtime(p) > STALE_S]
    freed = sum(e.bytes for e in doomed) + sum(_size(p) for p in stale)
    if not dry_run:
        try:
            for path in [p for e in doomed for p in e.files] + stale:
                path.unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot remove a cache entry ({exc.strerror})",
                              path=exc.filename or root) from None
        return Pruned(len(doomed), freed, usage(root))
    before = usage(root)
    segments = sum(e.kind == "segments" for e in doomed)
    left = Usage(root, before.clips - (len(doomed) - segments), before.segments - segments,
                 before.bytes - freed)
    return Pruned(len(doomed), freed, left)


def _edition_id(folder: Path) -> str:
    return hashlib.sha256(os.fsencode(folder.resolve())).hexdigest()[:32]


def _folders(path: Path) -> list[Path]:
    try:
        return sorted(Path(item.path) for item in os.scandir(path) if item.is_dir())
    except OSError:
        return []


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return [item for item in os.scandir(folder) if item.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0
