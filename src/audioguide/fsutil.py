"""File moves that hold on any layout of folders: cache, output and temporary folders
may each lie on a different file system."""

from __future__ import annotations

import contextlib
import errno
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
        with contextlib.suppress(OSError):
            os.unlink(name)
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
