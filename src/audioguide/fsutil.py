"""File moves that hold on any layout of folders: cache, output and temporary folders
may each lie on a different file system."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import OutputError


def move_into(source: Path, target: Path) -> None:
    """Move `source` to `target` so that `target` is only ever absent or complete.

    A rename where both lie on one file system; otherwise a copy to a temporary name
    beside `target`, renamed over it (a rename across file systems fails with EXDEV).
    """
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
        os.replace(name, target)
    except BaseException:
        _discard(name)
        raise
    source.unlink()


def cache_error(exc: OSError, folder: Path) -> OutputError:
    """The one-line error for a cache that cannot be written, saying what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError("no space left on the cache volume; free some space (see "
                           "`audioguide cache prune`) or choose another cache with --cache",
                           path=folder)
    return OutputError(f"cannot write to the cache ({exc.strerror}); choose a writable "
                       "cache folder with --cache", path=folder)


def share_identical(paths: list[Path]) -> int:
    """Make files with identical bytes one file (hard links); the bytes this saves.

    Where the file system has no hard links, the copies stay as they are.
    """
    by_size: dict[int, list[Path]] = {}
    for path in paths:
        by_size.setdefault(path.stat().st_size, []).append(path)
    saved = 0
    for size, group in by_size.items():
        if len(group) < 2:
            continue
        first: dict[bytes, Path] = {}
        for path in group:
            digest = hashlib.sha256(path.read_bytes()).digest()
            original = first.setdefault(digest, path)
            if original is path or os.path.samefile(original, path):
                continue
            staged = path.with_name(f".{path.name}.link")
            try:
                os.link(original, staged)
                os.replace(staged, path)
            except OSError:
                _discard(staged)
                continue
            saved += size
    return saved


def _discard(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
