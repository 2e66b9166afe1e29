"""Writing a user's file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError


def write_whole(path: Path, data: bytes, what: str, replace: bool = True) -> None:
    """Write `data` to `path` through a staging file beside it, so no reader sees half a file.

    With `replace` False an existing file is never replaced, even one that appears
    meanwhile: FileExistsError is raised and nothing is written. Any other failure is an
    OutputError naming `what` and the path.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            if replace:
                os.replace(staging, path)
            else:
                os.link(staging, path)
        finally:
            if os.path.exists(staging):
                os.unlink(staging)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {what} ({exc.strerror})", path=path) from None
