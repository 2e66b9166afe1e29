"""The text-to-speech seam: an Engine protocol and a registry of engines by name.

Built-in engines register exactly as a third-party one would:

    from audioguide.engines import register
    register("myengine", MyEngine)

An installed package offers an engine with no edit to audioguide through the entry
point group ``audioguide.engines``: the entry point's name is the engine's name (for
``engine:`` and ``--engine``) and its object is the engine factory, e.g. in the
package's pyproject.toml:

    [project.entry-points."audioguide.engines"]
    myengine = "mypackage.engine:MyEngine"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

from ..errors import EngineError, UsageError
from ..model import Rules, Voice, WordTime
from ..speech import ESPEAK_NG, RULES


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


def spoken_form(engine: Engine, text: str) -> str:
    """What `engine` is sent for a sentence's spoken text (lexicon applied, normalized).

    An engine may define ``spoken_form(text) -> str`` to turn that text into its own
    form (Piper takes lexicon phonemes in IPA where espeak-ng takes its own names);
    without it the text is sent as it is. It raises UsageError when it cannot.
    The engine's identity must change whenever its spoken form does.
    """
    shape: Callable[[str], str] | None = getattr(engine, "spoken_form", None)
    return shape(text) if shape is not None else text


def verifies_peaks(name: str) -> bool:
    """Whether the engine's speech can make an encoder overshoot the peak ceiling, so its
    encodes are decoded and measured (an engine says so with ``verify_peaks = True``)."""
    return bool(getattr(create(name), "verify_peaks", False))


def speech_rules(name: str) -> Rules:
    """The rules that make the spoken form engine `name` is sent.

    An engine names its own with ``speech = Rules(name, extra)`` (audioguide.model.Rules;
    `extra` from audioguide.speech.RULES, run after the shared rules in every language);
    one that names none, or a name no engine has (reported where it is used), gets
    espeak-ng's, the shared rules alone.
    """
    try:
        engine = create(name)
    except UsageError:
        return ESPEAK_NG
    rules = getattr(engine, "speech", ESPEAK_NG)
    if not isinstance(rules, Rules):
        raise EngineError(f"the engine {name!r} gives speech = {rules!r}; it must be "
                          "audioguide.model.Rules(name, extra)")
    unknown = [rule for rule in rules.extra if rule not in RULES]
    if unknown:
        raise EngineError(f"the engine {name!r} names speech rules that do not exist: "
                          f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(RULES))}")
    return rules


EngineFactory = Callable[[], Engine]
ENTRY_POINT_GROUP = "audioguide.engines"
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
    from . import fake, piper_engine, pyttsx3_engine  # noqa: F401

    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(entry.name, _Deferred(entry))


class _Deferred:
    """An entry point's engine, imported when it is first used, so a broken plug-in
    breaks only itself."""

    def __init__(self, entry: metadata.EntryPoint):
        self.entry = entry

    def __call__(self) -> Engine:
        try:
            factory: EngineFactory = self.entry.load()
        except Exception as exc:  # noqa: BLE001 - a third-party import can fail any way
            raise EngineError(f"the engine {self.entry.name!r} ({self.entry.value}) cannot be "
                              f"loaded: {type(exc).__name__}: {exc}") from None
        _REGISTRY[self.entry.name] = factory
        return factory()
