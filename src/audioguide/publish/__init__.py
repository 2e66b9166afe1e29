"""Outputs of an edition: one small Protocol, one registry, one module per output.

An output declares its name, the outputs whose files it reads (`after`), a pre-flight
check of the script, the files it offers for download (with labels and media types)
and the media types of everything it writes; `write` takes the Edition (the parsed
script, the measured timeline and the encoded chapter audio) and writes its files into
the edition's staging folder, returning their paths.

Outputs are found through the `audioguide.outputs` entry point group, the built-in
ones (declared in `builtin`) exactly as a third party's:

    [project.entry-points."audioguide.outputs"]
    zip = "mypackage.outputs:ZIP"      # one output, or a sequence of them

The declarations are light; a writer's module is imported only when it writes, so a
render with nothing to do imports no audio code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import UsageError
from ..model import BookAudio, Chapter, ChapterAudio, ChapterTiming, Script, Timeline

ENTRY_POINTS = "audioguide.outputs"
# Written with every edition whatever was asked for: the books embed it, apps show it.
ALWAYS = ("cover",)
# In `after`: every other output that does not say the same (the page lists them all).
EVERY_OTHER = "*"


@dataclass(frozen=True)
class Edition:
    """Everything a writer may read; `folder` is where it writes.

    `book_audio` and `chapter_audio` hold the book's and each chapter's audio, joined from
    the encodes; writers copy them, never encode again.
    """

    script: Script
    timeline: Timeline
    book_audio: BookAudio
    chapter_audio: tuple[ChapterAudio, ...]
    folder: Path
    work: Path
    narrator: str
    engine: str
    jobs: int = 1
    formats: tuple[str, ...] = field(default=())

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def cover(self) -> Path:
        return self.folder / "cover.png"


@dataclass(frozen=True)
class Download:
    """A file an output offers listeners: the page lists it, the manifest and feeds carry it.

    `name` is its path inside the edition; a `folder` download (a DAISY book) is a
    link to open, not a file to save.
    """

    name: str
    label: str
    kind: str
    media_type: str
    folder: bool = False


@runtime_checkable
class Output(Protocol):
    """One output format of an edition."""

    @property
    def name(self) -> str: ...

    @property
    def after(self) -> tuple[str, ...]:
        """Outputs whose files this one reads; they are written first."""

    @property
    def media_types(self) -> Mapping[str, str]:
        """Media types of the files it writes, by file name or by suffix (".vtt")."""

    def check(self, script: Script) -> None:
        """Raise UsageError, before any work, if this output cannot be made of `script`."""

    def downloads(self, script: Script) -> tuple[Download, ...]:
        """The files it offers for download, in the order listeners should see them."""

    def write(self, edition: Edition) -> list[Path]:
        """Write the files into `edition.folder`; return their paths."""


Writer = Callable[[Edition], list[Path]]


@dataclass(frozen=True)
class Declared:
    """An output declared by its parts; `writer` is a function or "module:function",
    imported only when the output writes."""

    name: str
    writer: str | Writer
    after: tuple[str, ...] = ()
    media_types: Mapping[str, str] = field(default_factory=dict)
    listed: Callable[[Script], tuple[Download, ...]] = lambda script: ()
    preflight: Callable[[Script], None] | None = None

    def check(self, script: Script) -> None:
        if self.preflight is not None:
            self.preflight(script)

    def downloads(self, script: Script) -> tuple[Download, ...]:
        return self.listed(script)

    def write(self, edition: Edition) -> list[Path]:
        writer = self.writer
        if isinstance(writer, str):
            module, _, function = writer.partition(":")
            writer = getattr(importlib.import_module(module), function)
        return writer(edition)


_REGISTRY: dict[str, Output] = {}


def register(output: Output) -> None:
    """Add an output (or replace one of the same name); outputs found through entry
    points are registered on first use."""
    outputs()
    _REGISTRY[output.name] = output


def outputs() -> dict[str, Output]:
    """Every output by name: audioguide's own first, in the order they are listed."""
    if not _REGISTRY:
        _REGISTRY.update(_from_entry_points())
    return _REGISTRY


def _from_entry_points() -> dict[str, Output]:
    from importlib.metadata import entry_points

    found: dict[str, Output] = {}
    points = sorted(entry_points(group=ENTRY_POINTS),
                    key=lambda point: point.dist is None or point.dist.name != "audioguide")
    for point in points:
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plug-in names itself, it does not stop a render
            raise UsageError(f"the output {point.name!r} ({point.value}) cannot be loaded: "
                             f"{exc}; fix or uninstall the package that provides it") from None
        for output in loaded if isinstance(loaded, (tuple, list)) else (loaded,):
            if not isinstance(output, Output):
                raise UsageError(f"the entry point {point.name!r} ({point.value}) holds "
                                 "something that is not an output (it needs name, after, "
                                 "media_types, check, downloads, write)")
            found.setdefault(output.name, output)
    if not all(name in found for name in ALWAYS):
        raise UsageError("audioguide's outputs are not registered; reinstall audioguide "
                         "(pip install -e .)")
    return found


def format_names() -> tuple[str, ...]:
    """Every format, built-in first, in the order they are listed."""
    return tuple(outputs())


def output(name: str) -> Output:
    """The output of that name."""
    return outputs()[name]


def offered(script: Script, names: tuple[str, ...] | None = None) -> list[Download]:
    """What the outputs (all, or those named) offer for download, in the registry's order."""
    return [item for name, out in outputs().items() if names is None or name in names
            for item in out.downloads(script)]


def media_types() -> dict[str, str]:
    """Every output's media types, by file name or suffix."""
    types: dict[str, str] = {}
    for out in outputs().values():
        types.update(out.media_types)
    return types


def dependencies(names: tuple[str, ...]) -> dict[str, set[str]]:
    """For each of `names`, the others among them that must be written before it."""
    registry = outputs()
    waits: dict[str, set[str]] = {}
    for name in names:
        after = set(registry[name].after)
        if EVERY_OTHER in after:
            after |= {other for other in names
                      if EVERY_OTHER not in registry[other].after}
        waits[name] = {other for other in after if other in names and other != name}
    return waits


# ISO 9660 Joliet, which DAISY 2.02 recommends for discs, keeps 64 characters of a name:
# a longer one is cut, extension and all, and the references to it break.
MAX_FILE_NAME = 64
_LONGEST_EXTENSION = len(".xhtml")


def chapter_stem(chapter: Chapter | ChapterTiming, count: int) -> str:
    """A chapter's file name without extension, e.g. 03-introduction, in every output.

    The number is zero-padded to the count (so names sort in chapter order from 100
    chapters on) and the slug cut so that the name stays within MAX_FILE_NAME.
    """
    number = f"{chapter.number:0{max(2, len(str(count)))}d}"
    room = MAX_FILE_NAME - len(number) - 1 - _LONGEST_EXTENSION
    slug = chapter.slug
    if len(slug) > room:  # cut at a word where there is one
        slug = slug[:room + 1].rsplit("-", 1)[0] if "-" in slug[:room + 1] else slug[:room]
    return f"{number}-{slug}"


def chapter_number(chapter: Chapter | ChapterTiming, count: int) -> str:
    """The chapter's number as its file names write it (zero-padded to the count)."""
    return chapter_stem(chapter, count).split("-")[0]


def chapter_filename(chapter: Chapter | ChapterTiming, count: int) -> str:
    """The per-chapter MP3's path inside the edition, e.g. chapters/03-introduction.mp3."""
    return f"chapters/{chapter_stem(chapter, count)}.mp3"


def book_name(edition: Edition | Script, extension: str) -> str:
    """The whole-book file name, e.g. crying-during-sex.m4b."""
    script = edition if isinstance(edition, Script) else edition.script
    return f"{script.slug}.{extension}"
