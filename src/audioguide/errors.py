"""One error family: every failure a user can meet is an AudioguideError.

Each message is one line and says which file (and line) and what to do. The CLI
prints it and exits non-zero; nothing below the CLI prints or exits.
"""

from __future__ import annotations

from pathlib import Path


class AudioguideError(Exception):
    """Base of every error audioguide reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class ScriptError(AudioguideError):
    """The narration script is malformed; names the file and line."""

    exit_code = 2


class UsageError(AudioguideError):
    """The command was called wrongly (a missing script, a bad option value)."""

    exit_code = 2


class MissingToolError(AudioguideError):
    """A system program (espeak-ng, ffmpeg) is missing; says how to install it."""


class EngineError(AudioguideError):
    """Speech synthesis failed for a sentence, even after a retry."""


class EncodeError(AudioguideError):
    """An external encoder (ffmpeg) failed; carries its command and stderr tail."""


class OutputError(AudioguideError):
    """The output folder cannot be written, or another render holds it."""


class StaleError(AudioguideError):
    """`render --check` found the published edition out of date."""


class CheckError(AudioguideError):
    """`check --strict` found findings that are not yet resolved."""
