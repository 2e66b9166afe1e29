"""Narration: one clip per sentence, cached on disk by content, made by parallel workers.

A clip's cache key is a hash of everything that changes its audio (the spoken
text and the engine's identity: engine, versions, voice, rate, volume), so a
re-render after no change synthesizes nothing and a one-sentence edit one clip.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

from . import engines
from .errors import AudioguideError, EngineError, OutputError, ScriptError, UsageError
from .fsutil import cache_error, move_into
from .model import Clip, Script, Sentence, Voice, WordTime
from .timeline import CLIP_MARGIN_MS, EDGE_BELOW_SPEECH_DB, SILENCE_THRESHOLD_DBFS

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


# Clips are kept trimmed to their speech and this margin (timeline.py), each with the
# times of its words beside it: a change to either is a change to every clip.
CLIP_FORMAT = (f"trimmed to {CLIP_MARGIN_MS} ms at {SILENCE_THRESHOLD_DBFS} dBFS or "
               f"{EDGE_BELOW_SPEECH_DB} dB under the speech; word times in a sidecar")


def clip_key(identity: str, spoken: str) -> str:
    """The content address of a clip."""
    return hashlib.sha256(f"{CLIP_FORMAT}\0{identity}\0{spoken}".encode()).hexdigest()


@dataclass(frozen=True)
class NarrationStats:
    """What a narration pass did, for the summary and the tests."""

    clips: int
    synthesized: int
    engine: str  # the engine's identity: engine, versions and voice settings
    synthesized_chars: int = 0  # the spoken text synthesized, for the machine's rates


class ClipCache:
    """Content-addressed WAV clips, each with a JSON sidecar of its word times named by
    the WAV's own digest; a damaged entry, or one without its WAV's sidecar, reads as
    missing, never as audio.

    Two renders sharing the cache may write one clip at once (espeak-ng's WAVs of one
    text can differ by a sample). Each writes its sidecar under its WAV's digest before
    renaming the WAV into place, so whichever WAV wins, its own word times are there.
    """

    def __init__(self, root: Path):
        self.root = root / "clips"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def words_path(self, key: str, wav_digest: str) -> Path:
        """The word times of the WAV with that digest, for the clip `key`."""
        return self.root / key[:2] / f"{key}.{wav_digest[:16]}.json"

    def get(self, key: str) -> Clip | None:
        path = self.path(key)
        clip = self.get_file(path, key)
        if clip is None:
            return None
        try:
            sidecar = json.loads(self.words_path(key, _digest(path)).read_text(
                encoding="utf-8"))
            words = tuple(WordTime(str(text), int(start), int(end))
                          for text, start, end in sidecar["words"])
            runs = tuple((str(role), int(start), int(end))
                         for role, start, end in sidecar.get("runs", ()))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return replace(clip, words=words, runs=runs)

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

    def commit(self, key: str, staged: Path, words: tuple[WordTime, ...] | None = None,
               runs: tuple[tuple[str, int, int], ...] = ()) -> Clip:
        """Trim a freshly synthesized clip to its speech and put it in the cache, with the
        times of its words (moved as the trim moved the audio) written beside it first,
        and for a clip joined from runs, where each voice speaks."""
        from .assembly import trim  # pydub: only when there is something to synthesize

        # Another render sharing the cache may have made this clip meanwhile: the same
        # text and voice, so it stands and ours is dropped.
        if (existing := self.get(key)) is not None:
            return existing
        clip = self.get_file(staged)
        shift = trim(staged) if clip else 0
        trimmed = self.get_file(staged)
        length_ms = trimmed.duration_ms if trimmed else 0
        moved = [(w.text, _clamp(w.start_ms + shift, length_ms),
                  _clamp(w.end_ms + shift, length_ms)) for w in words or ()]
        sidecar = self.words_path(key, _digest(staged))
        fd, name = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".json", dir=sidecar.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"words": moved,
                       "runs": [(role, _clamp(start + shift, length_ms),
                                 _clamp(end + shift, length_ms)) for role, start, end in runs]},
                      handle, ensure_ascii=False)
        os.replace(name, sidecar)
        final = self.path(key)
        try:
            move_into(staged, final)
        except OSError as exc:
            raise cache_error(exc, self.root) from None
        made = self.get(key)
        if made is None:
            final.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            raise EngineError("the engine wrote no usable audio (an empty or damaged WAV file)")
        return made


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clamp(ms: int, length_ms: int) -> int:
    return max(0, min(ms, length_ms))


def narrate(script: Script, voice: Voice, cache: ClipCache, jobs: int,
            progress: Progress | None = None, where: Path | None = None
            ) -> tuple[dict[str, Clip], NarrationStats]:
    """Clips for every sentence of `script`, keyed by sentence id; synthesizes what is missing.

    A sentence with quoted speech is spoken in runs, each in its voice and cached on its
    own, then joined into the sentence's clip (cached too) with RUN_GAP_MS between runs.
    """
    engine = engines.create(voice.engine)
    identity = engine.identity(voice)
    keys = sentence_keys(script, voice, engine)
    sentences = [s for s in script.sentences() if s.id in keys]
    found: dict[str, Clip] = {}
    missing: dict[str, Job] = {}
    joined: dict[str, Clip] = {}
    for sentence in sentences:
        planned = keys[sentence.id]
        if len(planned.runs) > 1 and (clip := cache.get(planned.clip)) is not None:
            joined[sentence.id] = clip  # its runs are not needed again
            continue
        for key, spoken, run_voice in planned.runs:
            if key in missing:
                missing[key].sentences.append(sentence)
            elif key not in found:
                clip = cache.get(key)
                if clip is not None:
                    found[key] = clip
                else:
                    missing[key] = Job(key, spoken, run_voice, [sentence])
    if missing:
        engine.check()
        _check_quote_voice(engine, script, script.run_voice("quote", voice))
        found.update(_synthesize(engine, voice, list(missing.values()), cache, jobs, progress,
                                 where or script.path))
    clips: dict[str, Clip] = {}
    for sentence in sentences:
        if sentence.id in joined:
            clips[sentence.id] = joined[sentence.id]
            continue
        runs = sentence.voiced_runs()
        parts = [found[key] for key, _, _ in keys[sentence.id].runs]
        if len(parts) > 1:
            clips[sentence.id] = _joined(cache, parts, [run.voice for run in runs])
        elif runs[0].voice != "narrator":
            clips[sentence.id] = replace(parts[0], runs=((runs[0].voice, 0,
                                                           parts[0].duration_ms),))
        else:
            clips[sentence.id] = parts[0]
    return clips, NarrationStats(clips=len(sentences), synthesized=len(missing),
                                 engine=identity,
                                 synthesized_chars=sum(len(job.spoken)
                                                       for job in missing.values()))


def _check_quote_voice(engine: engines.Engine, script: Script, voice: Voice) -> None:
    """A quote voice the engine cannot speak is the script's error, named at its line."""
    check = getattr(engine, "check_voice", None)
    if script.quotes is None or check is None:
        return
    try:
        check(voice)
    except AudioguideError as exc:
        raise ScriptError(f"quotes voice {voice.voice!r}: {exc.message}", path=script.path,
                         line=script.quotes.line) from None


# The quiet between two runs of a sentence in different voices (with the runs' own
# margins): about what espeak-ng leaves at a comma, where a quotation meets its attribution.
RUN_GAP_MS = 200


@dataclass(frozen=True)
class SentenceKeys:
    """The cache key of a narrated sentence's clip, and its runs': (key, spoken, voice)."""

    clip: str
    runs: tuple[tuple[str, str, Voice], ...]


def sentence_keys(script: Script, voice: Voice, engine: engines.Engine
                  ) -> dict[str, SentenceKeys]:
    """For each sentence with something to speak, the keys narration will look up: one
    clip per run, and for a sentence of several runs the clip they are joined into."""
    voices = {role: script.run_voice(role, voice) for role in ("narrator", "quote")}
    identities = {role: engine.identity(v) for role, v in voices.items()}
    found = {}
    for sentence in script.sentences():
        if not sentence.spoken:  # shown, not narrated (only emoji, say)
            continue
        runs = sentence.voiced_runs()
        parts = tuple((clip_key(identities[r.voice], r.spoken), r.spoken, voices[r.voice])
                      for r in runs)
        joined = parts[0][0] if len(parts) == 1 else _joined_key(
            [key for key, _, _ in parts], [r.voice for r in runs])
        found[sentence.id] = SentenceKeys(joined, parts)
    return found


def _joined_key(keys: list[str], roles: list[str]) -> str:
    recipe = "\0".join(["joined", CLIP_FORMAT, str(RUN_GAP_MS), *roles, *keys])
    return hashlib.sha256(recipe.encode()).hexdigest()


def _joined(cache: ClipCache, parts: list[Clip], roles: list[str]) -> Clip:
    """One clip of runs in their voices, in order, from the cache or joined now."""
    key = _joined_key([part.key for part in parts], roles)
    clip = cache.get(key)
    if clip is not None:
        return clip
    from .assembly import join_runs  # pydub: only when there is something to join

    staged = cache.staging(key)
    try:
        offsets = join_runs([part.path for part in parts], RUN_GAP_MS - 2 * CLIP_MARGIN_MS,
                            staged)
        words = tuple(WordTime(w.text, w.start_ms + at, w.end_ms + at)
                      for part, at in zip(parts, offsets, strict=True) for w in part.words)
        runs = tuple((role, at, at + part.duration_ms)
                     for role, part, at in zip(roles, parts, offsets, strict=True))
        return cache.commit(key, staged, words, runs)
    except OSError as exc:
        raise cache_error(exc, cache.root) from None
    finally:
        staged.unlink(missing_ok=True)


@dataclass(frozen=True)
class Job:
    """A clip to synthesize: its key, the text and voice, and the sentences it is for."""

    key: str
    spoken: str
    voice: Voice
    sentences: list[Sentence]


def partition(work: list[Job], lanes: int) -> list[list[Job]]:
    """Split the work, in script order, into `lanes` runs of about equal text length.

    espeak-ng carries state from one utterance to the next within a process, so a
    clip depends on what its worker spoke before it. Fixed runs for fresh workers
    make a cold render reproducible; a queue shared by the workers would not be.
    """
    total = sum(len(job.spoken) for job in work)
    runs: list[list[Job]] = [[] for _ in range(lanes)]
    done = 0
    for job in work:
        lane = min(lanes - 1, done * lanes // max(1, total))
        runs[lane].append(job)
        done += len(job.spoken)
    return [run for run in runs if run]


def _synthesize(engine: engines.Engine, voice: Voice, work: list[Job], cache: ClipCache,
                jobs: int, progress: Progress | None, where: Path) -> dict[str, Clip]:
    results: dict[str, Clip] = {}
    failures: list[AudioguideError] = []
    lock = threading.Lock()
    total = len(work)

    def run(speaker: _Speaker, lane: list[Job]) -> None:
        try:
            for job in lane:
                if failures:
                    return
                try:
                    clip = speaker.speak(engines.spoken_form(engine, job.spoken), job.key,
                                         job.voice)
                except OutputError as exc:
                    failures.append(exc)
                    return
                except AudioguideError as exc:
                    first = job.sentences[0]
                    preview = first.text if len(first.text) <= 60 else first.text[:57] + "..."
                    failures.append(EngineError(f"could not synthesize {preview!r}: {exc.message}",
                                                path=where, line=first.line))
                    return
                with lock:
                    results[job.key] = clip
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
    if engine.isolated:
        _stop_resource_tracker()
    if failures:
        raise failures[0]
    return results


def _stop_resource_tracker() -> None:
    """Stop the process multiprocessing starts beside the first spawned worker.

    It watches for leaked semaphores and shared memory, and audioguide's workers make
    neither (they answer through a pipe); left alone, it holds some 12 MB through the
    mastering and writing that follow. A later spawn starts it again.
    """
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(OSError, ChildProcessError, AttributeError):
            stop()


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

    def speak(self, text: str, key: str, voice: Voice | None = None) -> Clip:
        """The clip of `text` in `voice` (the lane's own when not given), made and cached."""
        try:
            return self._attempt(text, key, voice or self.voice)
        except EngineError:
            self._stop()
            return self._attempt(text, key, voice or self.voice)

    def _attempt(self, text: str, key: str, voice: Voice) -> Clip:
        staged = self.cache.staging(key)
        try:
            self.cache.check_space(text)
            if self.engine.isolated:
                words = self._remote(text, staged, voice)
            else:
                words = self.engine.synthesize(text, voice, staged)
            return self.cache.commit(key, staged, words)
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

    def _remote(self, text: str, out: Path, voice: Voice) -> tuple[WordTime, ...] | None:
        if self.process is None or not self.process.is_alive():
            self._start()
        assert self.conn is not None
        timeout = _timeout_s() + len(text) / 50
        try:
            self.conn.send((text, str(out), voice))
            if not self.conn.poll(timeout):
                self._stop()
                raise EngineError(f"the engine did not finish within {timeout:.0f} s")
            status, message, answer = self.conn.recv()
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
        words: tuple[WordTime, ...] | None = answer
        return words

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        name = self.voice.engine
        # A spawned worker starts with only the built-in engines registered; importing the
        # module that defines this one registers a third-party engine there too.
        module = type(self.engine).__module__
        self.process = context.Process(target=worker_main,
                                       args=(name, child, module), daemon=True)
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


def worker_main(engine_name: str, conn: Connection, engine_module: str | None = None) -> None:
    """The body of a spawned synthesis worker: one engine for the life of the process,
    speaking each request in the voice it names."""
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
        text, out, voice = request
        if engine is None:
            conn.send(("error", failure, None))
            continue
        try:
            words = engine.synthesize(text, voice, Path(out))
            conn.send(("ok", "", words))
        except AudioguideError as exc:
            kind = "usage" if exc.exit_code == 2 else "error"
            conn.send((kind, exc.message, None))
        except Exception as exc:  # noqa: BLE001 - any engine failure is reported, not raised
            conn.send(("error", f"{type(exc).__name__}: {exc}", None))

