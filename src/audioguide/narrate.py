"""Narration: one clip per sentence, cached on disk by content, made by parallel workers.

A clip's cache key is a hash of everything that changes its audio (the spoken
text and the engine's identity: engine, versions, voice, rate, volume), so a
re-render after no change synthesizes nothing and a one-sentence edit one clip.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import multiprocessing
import os
import shutil
import tempfile
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from . import engines
from .errors import AudioguideError, EngineError, OutputError, UsageError
from .fsutil import cache_error, move_into
from .model import Clip, Script, Sentence, Voice
from .timeline import CLIP_MARGIN_MS, SILENCE_THRESHOLD_DBFS

Progress = Callable[[str, int, int], None]
# How long one utterance may take before its worker is replaced (plus time per character).
DEFAULT_TIMEOUT_S = 90.0
# Room a clip needs in the cache: 44.1 kB a second of 16-bit 22.05 kHz speech, at
# most about ten characters a second, and a margin for the file system.
CLIP_BYTES_PER_CHAR = 4_410
MIN_FREE_BYTES = 1 << 20


def _timeout_s() -> float:
    """The per-utterance limit: $AUDIOGUIDE_SYNTH_TIMEOUT seconds, or the default."""
    value = os.environ.get("AUDIOGUIDE_SYNTH_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        return max(0.1, float(value))
    except ValueError:
        raise UsageError(f"AUDIOGUIDE_SYNTH_TIMEOUT={value!r} is not a number of seconds") \
            from None


def default_cache_dir() -> Path:
    """Where clips are kept between renders: $AUDIOGUIDE_CACHE or the user's cache folder."""
    if env := os.environ.get("AUDIOGUIDE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "audioguide"


# Clips are kept trimmed to their speech and this margin (timeline.py): a change to
# how they are trimmed is a change to every clip.
CLIP_FORMAT = f"trimmed to {CLIP_MARGIN_MS} ms at {SILENCE_THRESHOLD_DBFS} dBFS"


def clip_key(identity: str, spoken: str) -> str:
    """The content address of a clip."""
    return hashlib.sha256(f"{CLIP_FORMAT}\0{identity}\0{spoken}".encode()).hexdigest()


@dataclass(frozen=True)
class NarrationStats:
    """What a narration pass did, for the summary and the tests."""

    clips: int
    synthesized: int
    engine: str  # the engine's identity: engine, versions and voice settings


class ClipCache:
    """Content-addressed WAV clips; a damaged entry reads as missing, never as audio."""

    def __init__(self, root: Path):
        self.root = root / "clips"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str) -> Clip | None:
        path = self.path(key)
        return self.get_file(path, key)

    @staticmethod
    def get_file(path: Path, key: str = "") -> Clip | None:
        """The clip in a WAV file, or None when the file is not a usable mono 16-bit clip."""
        try:
            with wave.open(str(path), "rb") as wav:
                frames, rate = wav.getnframes(), wav.getframerate()
                if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or frames == 0:
                    return None
                expected = frames * 2
            # A truncated file still has a header claiming every frame.
            if path.stat().st_size < expected + 44:
                return None
        except (OSError, EOFError, wave.Error):
            return None
        return Clip(key, path, frames, rate)

    def staging(self, key: str) -> Path:
        """A private path in the cache to synthesize into before `commit`."""
        folder = self.path(key).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".wav", dir=folder)
        except OSError as exc:
            raise cache_error(exc, self.root) from None
        os.close(fd)
        return Path(name)

    def check_space(self, text: str) -> None:
        """Refuse at once when a clip of `text` cannot fit on the cache volume."""
        # 16-bit mono at 22.05 kHz, with room for a slow voice and the WAV header.
        needed = CLIP_BYTES_PER_CHAR * len(text) + MIN_FREE_BYTES
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            return  # the write itself will say what is wrong
        if free < needed:
            raise cache_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), self.root)

    def commit(self, key: str, staged: Path) -> Clip:
        """Trim a freshly synthesized clip to its speech and put it in the cache."""
        from .assembly import trim  # pydub: only when there is something to synthesize

        if self.get_file(staged):
            trim(staged)
        final = self.path(key)
        try:
            move_into(staged, final)
        except OSError as exc:
            raise cache_error(exc, self.root) from None
        clip = self.get(key)
        if clip is None:
            final.unlink(missing_ok=True)
            raise EngineError("the engine wrote no usable audio (an empty or damaged WAV file)")
        return clip


def narrate(script: Script, voice: Voice, cache: ClipCache, jobs: int,
            progress: Progress | None = None, where: Path | None = None
            ) -> tuple[dict[str, Clip], NarrationStats]:
    """Clips for every sentence of `script`, keyed by sentence id; synthesizes what is missing."""
    engine = engines.create(voice.engine)
    identity = engine.identity(voice)
    # A sentence with nothing to speak (only emoji, say) is shown, not narrated.
    sentences = [s for s in script.sentences() if s.spoken]
    clips: dict[str, Clip] = {}
    missing: dict[str, list[Sentence]] = {}
    for sentence in sentences:
        key = clip_key(identity, sentence.spoken)
        clip = cache.get(key)
        if clip is not None:
            clips[sentence.id] = clip
        else:
            missing.setdefault(key, []).append(sentence)
    if missing:
        engine.check()
        made = _synthesize(engine, voice, list(missing.items()), cache, jobs, progress,
                           where or script.path)
        for key, clip in made.items():
            for sentence in missing[key]:
                clips[sentence.id] = clip
    return clips, NarrationStats(clips=len(sentences), synthesized=len(missing),
                                 engine=identity)


Job = tuple[str, list[Sentence]]


def partition(work: list[Job], lanes: int) -> list[list[Job]]:
    """Split the work, in script order, into `lanes` runs of about equal text length.

    espeak-ng carries state from one utterance to the next within a process, so a
    clip depends on what its worker spoke before it. Fixed runs for fresh workers
    make a cold render reproducible; a queue shared by the workers would not be.
    """
    total = sum(len(sentences[0].spoken) for _, sentences in work)
    runs: list[list[Job]] = [[] for _ in range(lanes)]
    done = 0
    for job in work:
        lane = min(lanes - 1, done * lanes // max(1, total))
        runs[lane].append(job)
        done += len(job[1][0].spoken)
    return [run for run in runs if run]


def _synthesize(engine: engines.Engine, voice: Voice, work: list[Job], cache: ClipCache,
                jobs: int, progress: Progress | None, where: Path) -> dict[str, Clip]:
    results: dict[str, Clip] = {}
    failures: list[AudioguideError] = []
    lock = threading.Lock()
    total = len(work)

    def run(speaker: _Speaker, lane: list[Job]) -> None:
        try:
            for key, sentences in lane:
                if failures:
                    return
                try:
                    clip = speaker.speak(engines.spoken_form(engine, sentences[0].spoken), key)
                except OutputError as exc:
                    failures.append(exc)
                    return
                except AudioguideError as exc:
                    first = sentences[0]
                    preview = first.text if len(first.text) <= 60 else first.text[:57] + "..."
                    failures.append(EngineError(f"could not synthesize {preview!r}: {exc.message}",
                                                path=where, line=first.line))
                    return
                with lock:
                    results[key] = clip
                    if progress:
                        progress("narrate", len(results), total)
        finally:
            speaker.close()

    lanes = partition(work, max(1, min(jobs, total)) if engine.isolated else 1)
    threads = [threading.Thread(target=run, args=(_Speaker(engine, voice, cache), lane),
                                daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


class _Speaker:
    """One synthesis lane: in-process for plain engines, a spawned worker for isolated ones.

    Each utterance gets a timeout; on a hang, crash or bad file the worker is
    replaced and the utterance tried once more before the failure is reported.
    """

    def __init__(self, engine: engines.Engine, voice: Voice, cache: ClipCache):
        self.engine = engine
        self.voice = voice
        self.cache = cache
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def speak(self, text: str, key: str) -> Clip:
        try:
            return self._attempt(text, key)
        except EngineError:
            self._stop()
            return self._attempt(text, key)

    def _attempt(self, text: str, key: str) -> Clip:
        staged = self.cache.staging(key)
        try:
            self.cache.check_space(text)
            if self.engine.isolated:
                self._remote(text, staged)
            else:
                self.engine.synthesize(text, self.voice, staged)
            return self.cache.commit(key, staged)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise cache_error(exc, self.cache.root) from None
            raise EngineError(f"the engine could not write its audio ({exc.strerror})") from None
        except EngineError:
            # An engine writing into a full volume fails in its own ways (pyttsx3 waits
            # for an event that never comes): the volume, not the engine, is the cause.
            self.cache.check_space(text)
            raise
        finally:
            staged.unlink(missing_ok=True)

    def _remote(self, text: str, out: Path) -> None:
        if self.process is None or not self.process.is_alive():
            self._start()
        assert self.conn is not None
        timeout = _timeout_s() + len(text) / 50
        try:
            self.conn.send((text, str(out)))
            if not self.conn.poll(timeout):
                self._stop()
                raise EngineError(f"the engine did not finish within {timeout:.0f} s")
            status, message = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if self.process is not None:
                self.process.join(2)  # reap it, or its exit code reads as None
            code = self.process.exitcode if self.process else None
            self._stop()
            raise EngineError(f"the engine process died (exit code {code})") from None
        if status == "usage":
            raise AudioguideError(message)
        if status != "ok":
            raise EngineError(message)

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        name = self.voice.engine
        # A spawned worker starts with only the built-in engines registered; importing the
        # module that defines this one registers a third-party engine there too.
        module = type(self.engine).__module__
        self.process = context.Process(target=worker_main,
                                       args=(name, self.voice, child, module), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent

    def _stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None

    def close(self) -> None:
        if self.conn is not None and self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(5)
            except (OSError, BrokenPipeError):
                pass
        self._stop()


def worker_main(engine_name: str, voice: Voice, conn: Connection,
                engine_module: str | None = None) -> None:
    """The body of a spawned synthesis worker: one engine for the life of the process."""
    from .tools import die_with_parent

    die_with_parent()  # a killed render takes its workers with it
    # The engine may print (pyttsx3 does); the parent's terminal is not ours to write to.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        if engine_module:
            importlib.import_module(engine_module)
        engine = engines.create(engine_name)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the answer
        engine, failure = None, f"the engine could not start ({type(exc).__name__}: {exc})"
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        text, out = request
        if engine is None:
            conn.send(("error", failure))
            continue
        try:
            engine.synthesize(text, voice, Path(out))
            conn.send(("ok", ""))
        except AudioguideError as exc:
            kind = "usage" if exc.exit_code == 2 else "error"
            conn.send((kind, exc.message))
        except Exception as exc:  # noqa: BLE001 - any engine failure is reported, not raised
            conn.send(("error", f"{type(exc).__name__}: {exc}"))

