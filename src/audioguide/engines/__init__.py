"""The text-to-speech seam: an Engine protocol and a registry of engines by name.

Built-in engines register exactly as a third-party one would:

    from audioguide.engines import register
    register("myengine", MyEngine)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import UsageError
from ..model import Voice, WordTime


@dataclass(frozen=True)
class VoiceInfo:
    """A voice an engine offers."""

    id: str
    name: str
    languages: tuple[str, ...]


class Engine(Protocol):
    """Writes one utterance to a mono 16-bit WAV file.

    `isolated` engines are run one per spawned worker process, so a crash or hang
    in the engine cannot take the render down and can be bounded by a timeout.
    """

    isolated: bool

    def check(self) -> None:
        """Raise MissingToolError when what the engine needs is not installed."""

    def identity(self, voice: Voice) -> str:
        """Everything besides the text that changes the audio: engine, versions, settings."""

    def synthesize(self, text: str, voice: Voice, out: Path) -> tuple[WordTime, ...] | None:
        """Write `text` spoken with `voice` to the WAV file `out`; return when each word
        is heard in it (ms from the file's start), or None when the engine cannot tell."""

    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers."""


EngineFactory = Callable[[], Engine]
_REGISTRY: dict[str, EngineFactory] = {}


def register(name: str, factory: EngineFactory) -> None:
    """Make an engine available under `name` (for scripts, the CLI and workers)."""
    _REGISTRY[name] = factory


def names() -> list[str]:
    """The names of the registered engines."""
    _load_builtins()
    return sorted(_REGISTRY)


def create(name: str) -> Engine:
    """A new engine instance by registered name."""
    _load_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}; choose one of: {', '.join(names())}") from None
    return factory()


def _load_builtins() -> None:
    # Imported lazily so that a worker or the CLI pays only for the engine it uses.
    from . import fake, pyttsx3_engine  # noqa: F401
