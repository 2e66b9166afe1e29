"""The render pipeline, as a visible list of stages, and the atomic publish of an edition.

    parse the script -> skip if the published edition is fresh -> narrate (cached clips)
    -> master and encode (segments cached, joined per chapter; the timeline)
    -> write each format -> manifest
    -> swap the staged edition into place

A render writes into a staging folder beside the output; only a complete edition
is swapped in, so a failed, interrupted or concurrent render leaves the previous
edition whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engines, publish, rates
from .cache import Usage, record_use, usage
from .errors import OutputError, UsageError
from .fsutil import share_identical
from .model import Script, Voice
from .narrate import ClipCache, NarrationStats, default_cache_dir, narrate
from .publish import manifest as manifest_file
from .script import for_engine, parse_script

# Bumped whenever a change to audioguide changes what it writes for the same script.
OUTPUT_VERSION = "5"

Progress = Callable[[str, int, int], None]
AUDIO_SUFFIXES = (".mp3", ".m4b", ".m4a", ".aac", ".ogg", ".opus", ".wav")


@dataclass(frozen=True)
class RenderOptions:
    """What the user asked for, beyond the script itself."""

    output: Path = Path("audio")
    formats: tuple[str, ...] = ()
    engine: str | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    force: bool = False
    cache: Path = field(default_factory=default_cache_dir)


@dataclass(frozen=True)
class FileReport:
    """A published file, for the closing summary."""

    name: str
    bytes: int
    duration_ms: int | None


@dataclass(frozen=True)
class RenderResult:
    """What a render did."""

    script: Path
    folder: Path
    fresh: bool
    files: tuple[FileReport, ...] = ()
    stats: NarrationStats | None = None
    seconds: float = 0.0
    loudness_lufs: float | None = None
    target_lufs: float | None = None
    encoded_chapters: int = 0
    kept: tuple[str, ...] = ()  # files someone else put in the edition, carried over
    cache: Usage | None = None
    shared: int = 0  # bytes saved by storing identical audio files once (hard links)


@dataclass(frozen=True)
class CheckResult:
    """How a published edition stands against its script."""

    problems: tuple[str, ...]  # why it is stale; empty when it is fresh
    user_files: tuple[str, ...] = ()  # files in it that audioguide did not write
    folder: Path = Path()  # the edition's folder


def all_formats() -> tuple[str, ...]:
    """Every output format, in the order they are written."""
    return tuple(name for name in publish.format_names() if name not in publish.ALWAYS)


def resolve_formats(requested: tuple[str, ...]) -> tuple[str, ...]:
    """The formats to write: all by default; unknown names are a usage error."""
    known = all_formats()
    if not requested:
        return known
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r}; formats are: {', '.join(known)}")
    return tuple(name for name in known if name in requested)


def voice_for(script: Script, options: RenderOptions) -> Voice:
    """The engine settings: the command line overrides the script's front matter."""
    base = script.voice
    engine = options.engine or base.engine
    # Another engine takes its settings from the front matter's `engines:`, its rate and
    # volume from the script's own where that gives none (a voice name is the engine's).
    other = script.settings_for(engine)
    own_voice = base.voice if engine == base.engine else None
    volume = next((v for v in (options.volume, other.volume, base.volume) if v is not None),
                  None)
    return Voice(
        engine=engine,
        voice=options.voice or other.voice or own_voice or script.language.lower(),
        rate=options.rate or other.rate or base.rate,
        volume=volume,
    )


def key_inputs(script: Script, voice: Voice, formats: tuple[str, ...]) -> dict[str, Any]:
    """Everything that decides what a render writes (the manifest records it, so that
    `plan` can say which of them changed)."""
    return {"output": OUTPUT_VERSION, "script": script.digest, "engine": voice.engine,
            "voice": voice.voice, "rate": voice.rate, "volume": voice.volume,
            "formats": sorted(formats)}


def input_key(script: Script, voice: Voice, formats: tuple[str, ...]) -> str:
    """A hash of everything that decides what a render writes."""
    return key_of(key_inputs(script, voice, formats))


def key_of(inputs: dict[str, Any]) -> str:
    """The input key of recorded inputs."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def read_for(script_path: Path, options: RenderOptions) -> tuple[Script, Voice]:
    """The script as the engine that will narrate it reads it, and the narrator's voice."""
    script = parse_script(script_path)
    voice = voice_for(script, options)
    return for_engine(script, voice.engine), voice


def check(script_path: Path, options: RenderOptions) -> CheckResult:
    """Whether the published edition of a script is fresh, and what else it holds."""
    script, voice = read_for(script_path, options)
    formats = resolve_formats(options.formats)
    folder = options.output / script.slug
    key = input_key(script, voice, formats)
    previous = manifest_file.read_manifest(folder)
    extra = manifest_file.user_files(folder, previous) if previous else []
    return CheckResult(tuple(manifest_file.problems(folder, key)), tuple(extra), folder)


def render(script_path: Path, options: RenderOptions, progress: Progress | None = None,
           *, report_cache: bool = True) -> RenderResult:
    """Render one script into `options.output/<slug>/`, unless it is already fresh.

    `report_cache=False` leaves the cache's size out of the result (measuring it reads
    the whole cache: a render of many scripts measures it once, at the end).
    """
    started = time.monotonic()
    script, voice = read_for(script_path, options)
    formats = resolve_formats(options.formats)
    inputs = key_inputs(script, voice, formats)
    key = key_of(inputs)
    folder = options.output / script.slug
    if not options.force and not manifest_file.problems(folder, key):
        return RenderResult(script_path, folder, fresh=True, seconds=time.monotonic() - started)
    for name in (*publish.ALWAYS, *formats):
        publish.output(name).check(script)  # now, not after a narration
    from .master import TARGET_LUFS, master  # numpy and pydub: only when there is work
    from .tools import require

    require("ffmpeg")  # now, not after a narration that can take minutes
    _ensure_output(options.output)
    with _lock(options.output, script.slug, progress):
        target = _through_link(folder)
        _guard_foreign(target)
        previous = manifest_file.read_manifest(target) or {}
        kept = manifest_file.user_files(target, previous) if previous else []
        # Only its gain is read again: a long book's manifest (every word's times) is not
        # held through the render.
        previous_gain_db = (previous.get("loudness") or {}).get("gain_db")
        del previous
        with _staging(target.parent, script.slug) as staging:
            edition_dir, work = staging / "edition", staging / "work"
            edition_dir.mkdir()
            work.mkdir()
            cpu = [rates.cpu_seconds()]
            clips, stats = narrate(script, voice, ClipCache(options.cache), options.jobs,
                                   progress)
            cpu.append(rates.cpu_seconds())
            mastered = master(script, clips, work, options.cache, options.jobs, progress,
                              previous_gain_db=previous_gain_db,
                              verify_peaks=engines.verifies_peaks(voice.engine))
            cpu.append(rates.cpu_seconds())
            _release_freed_memory()
            engine_identity = stats.engine
            edition = publish.Edition(
                script=script, timeline=mastered.timeline, book_audio=mastered.book,
                chapter_audio=mastered.chapters,
                folder=edition_dir, work=work, narrator=script.disclosure,
                engine=engine_identity, jobs=options.jobs, formats=formats)
            files = _write_formats(edition, ("cover", *formats), progress)
            shared = share_identical([p for p in files if p.name.endswith(AUDIO_SUFFIXES)])
            loudness = {"target_lufs": TARGET_LUFS,
                        "mastered_lufs": round(mastered.mastered_lufs, 2),
                        "gain_db": mastered.gain_db}
            content = manifest_file.build(edition, key, engine_identity, loudness, files,
                                          inputs=inputs)
            manifest_file.write_manifest(edition, content)
            cpu.append(rates.cpu_seconds())
            _carry_over(target, edition_dir, kept)
            _swap_into_place(edition_dir, target)
    record_use(options.cache, folder, key, (clip.key for clip in clips.values()),
               mastered.segments)
    rates.record(options.cache, rates.Measured(
        voice.engine, synthesis=(cpu[1] - cpu[0], stats.synthesized_chars),
        encoding=(cpu[2] - cpu[1], mastered.encoded_ms / 1000),
        publishing=(cpu[3] - cpu[2], 1)))
    reports = _reports(folder, content)
    return RenderResult(script_path, folder, fresh=False, files=reports, stats=stats,
                        seconds=time.monotonic() - started,
                        loudness_lufs=mastered.mastered_lufs,
                        target_lufs=TARGET_LUFS,
                        encoded_chapters=mastered.encoded, kept=tuple(kept), shared=shared,
                        cache=usage(options.cache) if report_cache else None)


def _release_freed_memory() -> None:
    """Give the memory the mastering threads freed back to the system.

    glibc keeps what each thread's arena freed; the encoders and writers that run next
    would otherwise add to it, not reuse it.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _write_formats(edition: publish.Edition, formats: tuple[str, ...],
                   progress: Progress | None) -> list[Path]:
    """Write the formats, each as soon as those it reads are written, side by side (most of
    their time is spent in ffmpeg or on the disk); the files in the formats' order."""
    waits = publish.dependencies(formats)
    written: dict[str, list[Path]] = {}
    running: dict[Future[list[Path]], str] = {}
    with ThreadPoolExecutor(max_workers=max(2, edition.jobs)) as pool:
        while len(written) < len(formats):
            for name in formats:
                if name not in written and name not in running.values() and \
                        waits[name] <= written.keys():
                    running[pool.submit(publish.output(name).write, edition)] = name
            if not running:
                stuck = ", ".join(name for name in formats if name not in written)
                raise UsageError(f"the outputs {stuck} each wait for another to be written "
                                 "first; fix their `after`")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                finished = running.pop(future)
                written[finished] = future.result()
                if progress:
                    progress(f"write {finished}", len(written), len(formats))
    return [path for name in formats for path in written[name]]


def _reports(folder: Path, content: dict[str, Any]) -> tuple[FileReport, ...]:
    durations = {c["file"]: c["file_ms"] for c in content["chapters"]}
    for extension in ("mp3", "m4b"):
        durations[f"{folder.name}.{extension}"] = content["duration_ms"]
    from .tags import length_ms

    reports = []
    for name, info in content["files"].items():
        duration = durations.get(name)
        if duration is None and name.endswith(AUDIO_SUFFIXES):
            # Audio that another writer made (a talking book's own files): its header says.
            duration = length_ms(folder / name)
        reports.append(FileReport(name, info["bytes"], duration))
    reports.append(FileReport(manifest_file.MANIFEST, (folder / manifest_file.MANIFEST)
                              .stat().st_size, None))
    return tuple(reports)


def _ensure_output(output: Path) -> None:
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror}); choose another "
                          "with --output", path=output) from None
    if not os.access(output, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable; choose another with --output",
                          path=output)


def _through_link(folder: Path) -> Path:
    """Where the edition goes: an edition folder that is a link is rendered into its target."""
    if not folder.is_symlink():
        return folder
    target = folder.resolve()
    if not target.exists():
        raise OutputError(f"is a link to {target}, which does not exist; create that folder "
                          "or remove the link", path=folder)
    return target


def _guard_foreign(folder: Path) -> None:
    """Never replace a folder that audioguide did not make: it may hold the user's files."""
    if folder.exists() and (not folder.is_dir() or (
            any(folder.iterdir()) and manifest_file.read_manifest(folder) is None)):
        raise OutputError("exists and was not made by audioguide (no manifest.json); move it "
                          "away or choose another --output", path=folder)


def _carry_over(folder: Path, new: Path, names: list[str]) -> None:
    """Put the files someone else added to the published edition into the new one."""
    clashes = [name for name in names if os.path.lexists(new / name)]
    if clashes:
        raise OutputError(f"holds files that audioguide did not write where the new edition "
                          f"puts its own ({', '.join(clashes)}); move them out of the folder "
                          "and render again", path=folder)
    for name in names:
        source, target = folder / name, new / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
            continue
        try:
            os.link(source, target)  # the same file, not a copy: the swap keeps it
        except OSError:
            shutil.copy2(source, target)


@contextlib.contextmanager
def _lock(output: Path, slug: str, progress: Progress | None) -> Iterator[None]:
    """One render at a time per edition; a second one waits for the first.

    The lock file is removed when the render ends, and so are those that killed renders
    left behind. A waiter that finds its file removed meanwhile locks the new one.
    """
    try:
        import fcntl
    except ImportError:  # Windows: renames there are not atomic anyway
        yield
        return
    path = output / f".{slug}.lock"
    waited = False
    while True:
        try:
            handle = path.open("a+")
        except OSError as exc:
            raise OutputError(f"cannot create a lock file ({exc.strerror})",
                              path=path) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress and not waited:
                progress("waiting for another render of this edition", 0, 0)
            waited = True
            fcntl.flock(handle, fcntl.LOCK_EX)
        if _still_named(handle, path):
            break
        handle.close()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
        _remove_stale_locks(output)


def _still_named(handle: Any, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


def _remove_stale_locks(output: Path) -> None:
    """Lock files of renders that were killed: nobody holds them."""
    import fcntl

    for path in output.glob(".*.lock"):
        try:
            with path.open("a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _still_named(handle, path):
                    path.unlink()
        except OSError:
            continue  # held by a running render, or gone already


@contextlib.contextmanager
def _staging(output: Path, slug: str) -> Iterator[Path]:
    """A private folder beside the edition (same file system, so the swap is a rename)."""
    # Left behind by a render that was killed: we hold the lock, so nobody else uses them.
    # Its programs die with it (tools.die_with_parent), but the kernel may take a moment
    # to stop the last of them: a file written meanwhile gets a second pass.
    for stale in output.glob(f".{slug}.staging-*"):
        for _ in range(5):
            shutil.rmtree(stale, ignore_errors=True)
            if not stale.exists():
                break
            time.sleep(0.1)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{slug}.staging-", dir=output))
    except OSError as exc:
        raise OutputError(f"cannot write in the output folder ({exc.strerror})",
                          path=output) from None
    try:
        yield staging
    except OSError as exc:
        if exc.errno == 28:
            raise OutputError("the disk is full; free some space and render again",
                              path=output) from None
        raise OutputError(f"cannot write the edition ({exc.strerror})",
                          path=exc.filename or output) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_RENAME_EXCHANGE = 2


def _swap_into_place(new: Path, folder: Path) -> None:
    """Put the staged edition where the old one was, in one step where the OS allows."""
    if not folder.exists():
        os.rename(new, folder)
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        if renameat2 is not None:
            at_cwd = -100
            if renameat2(at_cwd, os.fsencode(new.absolute()), at_cwd,
                         os.fsencode(folder.absolute()), _RENAME_EXCHANGE) == 0:
                return  # the old edition is now at `new`, removed with the staging folder
    # Elsewhere: two renames, with the old edition kept until the new one is in place.
    old = new.parent / "old"
    os.rename(folder, old)
    try:
        os.rename(new, folder)
    except OSError:
        os.rename(old, folder)
        raise


def default_scripts(folder: Path = Path("script")) -> list[Path]:
    """The scripts in `folder` (*.md), in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if p.is_file())
