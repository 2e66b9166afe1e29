"""Assembly, mastering and encoding: clips and pauses into encoded audio, piece by piece.

Everything streams one sentence at a time, so memory does not grow with the length
of the book. The loudness of the whole programme is measured (BS.1770) and one gain
is applied to all of it; peaks are limited and a faint noise floor added.

Each chapter is cut, at paragraph pauses, into segments of about twenty seconds;
each segment is encoded once to MP3 and to AAC and kept in the cache under a hash
of what went into it. Chapter files and whole-book files are joined from these
encodes frame by frame, so a re-render encodes only the segments that changed.

Frame-exact lengths make the joining exact. A segment's PCM is padded with room
tone, or its closing pause shortened by at most a tenth of a second, so that after
the encoder's one extra frame both encodes decode to the same whole number of
samples (a multiple of both frame sizes). Every segment, and so every chapter,
then starts in the joined files at the sum of the lengths before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EncodeError, EngineError
from .fsutil import cache_error, move_into
from .loudness import StreamingMeter, gated_loudness
from .model import ChapterAudio, ChapterTiming, Clip, Script, SentenceTiming, Timeline
from .mpegaudio import adts_frames, audio_frames
from .tools import ffmpeg

SAMPLE_RATE = 22050
OUTPUT_RATE = 44100
TARGET_LUFS = -19.0
# The encoders shave a little loudness off (measured on the encoded files: LAME about
# 0.4 LU, AAC about 0.1 LU), so the master aims this much above the target.
ENCODER_ALLOWANCE_LU = 0.2
# A re-render keeps the previous gain while it still lands this close to the target, so
# an edit does not change (and re-encode) every other chapter.
GAIN_TOLERANCE_LU = 0.5
PEAK_CEILING_DBFS = -3.0
NOISE_FLOOR_DBFS = -72.0
LIMITER_WINDOW_MS = 3
# A paragraph with nothing to speak (emoji, punctuation) keeps its place in the timeline:
# its caption and its clip in the books are this long, in quiet.
WRITTEN_ONLY_MS = 800

MP3_BITRATE = "64k"
AAC_BITRATE = "64k"
# Measured on ffmpeg's libmp3lame and native AAC encoders: an input that is a whole
# number of frames comes out exactly one frame longer; LAME's content starts 1105
# samples in (576 encoder + 529 decoder delay), AAC's after one 1024-sample frame.
MP3_FRAME, AAC_FRAME = 1152, 1024
MP3_DELAY = 1105
QUANTUM = 9216  # the least common multiple of the two frame sizes
SEGMENT_SECONDS = 20.0  # a segment closes at the first paragraph pause after this much
MIN_SEGMENT_SECONDS = 10.0  # ...unless less than this would be left for the chapter

ENCODE_VERSION = "1"
MP3_ARGS = ["-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE]
AAC_ARGS = ["-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "aac", "-b:a", AAC_BITRATE,
            # The default coder overshoots by up to 4 dB on speech onsets at this
            # bitrate (a true peak above 0 dBTP) and takes four times as long.
            "-aac_coder", "fast"]
QUIET = ["-fflags", "+bitexact", "-flags:a", "+bitexact"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Mastered:
    """The mastered, encoded programme and its measured timeline."""

    chapters: tuple[ChapterAudio, ...]
    timeline: Timeline
    mastered_lufs: float
    gain_db: float
    encoded: int
    segments: tuple[str, ...] = ()  # the cache keys of the encoded segments it joined


@dataclass(frozen=True)
class _Piece:
    """A stretch of the programme: a clip (with its sentence) or silence."""

    frames: int
    clip: Clip | None = None
    sentence_id: str = ""
    text: str = ""
    cut: bool = False  # a pause after which a segment may end


def plan(script: Script, clips: dict[str, Clip]) -> list[list[_Piece]]:
    """The pieces of every chapter in order, with pauses resolved to frames."""
    pauses = script.pauses
    chapters = []
    for index, chapter in enumerate(script.chapters):
        last = index == len(script.chapters) - 1
        # Half of the chapter pause goes to the head of the next chapter, so that every
        # chapter file (and every chapter start) opens with a little room tone.
        head_ms = pauses.lead_in_ms if index == 0 else pauses.chapter_ms // 2
        next_head_ms = 0 if last else pauses.chapter_ms // 2
        pieces = [_Piece(_frames(head_ms))]
        sentences = chapter.sentences
        for i, sentence in enumerate(sentences):
            clip = clips.get(sentence.id) if sentence.spoken else None
            if clip is not None:
                pieces.append(_Piece(clip.frames, clip, sentence.id, sentence.text))
            else:  # written only (emoji, punctuation): shown for a moment of quiet
                pieces.append(_Piece(_frames(WRITTEN_ONLY_MS), None, sentence.id, sentence.text))
            pause_ms = sentence.pause_after_ms
            if i == len(sentences) - 1:
                pause_ms = max(0, pause_ms - next_head_ms) + (pauses.tail_ms if last else 0)
            block_ends = i + 1 < len(sentences) and sentences[i + 1].block != sentence.block
            if pause_ms:
                pieces.append(_Piece(_frames(pause_ms), cut=block_ends and pause_ms >= 300))
        chapters.append(pieces)
    return chapters


def _frames(ms: int) -> int:
    return round(ms * SAMPLE_RATE / 1000)


def _ms(samples: int, rate: int = OUTPUT_RATE) -> int:
    return round(samples * 1000 / rate)


@dataclass(frozen=True)
class _Segment:
    """A run of a chapter's pieces encoded as one unit, and its length once encoded."""

    chapter: int
    pieces: tuple[_Piece, ...]
    samples: int  # 44.1 kHz samples both encodes decode to

    @property
    def pcm_frames(self) -> int:
        """The 22.05 kHz PCM written for the AAC encode (the MP3's is one frame shorter)."""
        return (self.samples - AAC_FRAME) // 2


def segments(chapter: int, pieces: list[_Piece]) -> list[_Segment]:
    """Cut a chapter at paragraph pauses into segments of about SEGMENT_SECONDS."""
    runs: list[list[_Piece]] = [[]]
    frames = 0
    remaining = sum(p.frames for p in pieces)
    for piece in pieces:
        runs[-1].append(piece)
        frames += piece.frames
        remaining -= piece.frames
        if (piece.cut and frames >= SEGMENT_SECONDS * SAMPLE_RATE
                and remaining >= MIN_SEGMENT_SECONDS * SAMPLE_RATE):
            runs.append([])
            frames = 0
    return [_Segment(chapter, tuple(run), _encoded_samples(run)) for run in runs if run]


def _encoded_samples(pieces: list[_Piece]) -> int:
    """A whole number of quanta; rounded down only into a closing pause that can spare it."""
    needed = 2 * sum(p.frames for p in pieces) + MP3_FRAME
    up = -(-needed // QUANTUM) * QUANTUM
    down = up - QUANTUM
    last = pieces[-1]
    spare = 2 * last.frames - 2 * _frames(300) if last.clip is None and not last.sentence_id else 0
    if down > 0 and needed - down <= min(QUANTUM // 2, spare):
        return down
    return up


def master(script: Script, clips: dict[str, Clip], work: Path, cache: Path, jobs: int = 1,
           progress: Progress | None = None, previous_gain_db: float | None = None
           ) -> Mastered:
    """Master and encode every segment (reusing cached encodes), join the chapters, and
    time the book."""
    chapters = plan(script, clips)
    units = [segment for index, pieces in enumerate(chapters)
             for segment in segments(index, pieces)]
    store = _EncodeCache(cache)
    gain_db = _choose_gain(units, store, previous_gain_db, jobs)
    keys = [_segment_key(unit, gain_db) for unit in units]
    encoded: set[int] = set()
    finished: list[int] = []
    # At most `jobs` encoders at once, whichever segments they belong to: a segment's MP3
    # and AAC run side by side when they are all there is to do (an edit).
    slots = threading.BoundedSemaphore(max(1, jobs))

    def produce(index: int) -> tuple[Path, Path]:
        unit = units[index]
        paths = store.get(keys[index], unit.samples)
        if paths is None:
            paths = _encode_segment(unit, gain_db, work, index, store, keys[index], slots)
            encoded.add(unit.chapter)
        finished.append(index)
        if progress:
            progress("encode", len(finished), len(units))
        return paths

    # Longest first, so that the last to finish is a short one.
    order = sorted(range(len(units)), key=lambda i: -units[i].samples)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = dict(zip(order, pool.map(produce, order), strict=True))
    audio = tuple(_join_chapter(index, [(done[i], units[i]) for i in range(len(units))
                                        if units[i].chapter == index], work)
                  for index in range(len(chapters)))
    # Every segment's encode keeps the energies of the PCM it was made from, so the
    # loudness the programme was mastered to is measured, not assumed.
    mastered_lufs = _gated(units, lambda unit: _cached_hops(store, unit, gain_db), 1)
    return Mastered(audio, _timeline(script, units), mastered_lufs, gain_db,
                    encoded=len(encoded), segments=tuple(keys))


def _cached_hops(store: _EncodeCache, unit: _Segment, gain_db: float) -> np.ndarray:
    hops = store.hops(_segment_key(unit, gain_db))
    if hops is None:
        raise EncodeError("an encoded segment lost its record in the cache; render again")
    return hops


def _join_chapter(index: int, parts: list[tuple[tuple[Path, Path], _Segment]], work: Path
                  ) -> ChapterAudio:
    """A chapter's MP3 and AAC, joined from its segments' encodes frame by frame."""
    mp3, aac = work / f"{index + 1:04d}.mp3", work / f"{index + 1:04d}.aac"
    with mp3.open("wb") as mp3_out, aac.open("wb") as aac_out:
        for (mp3_part, aac_part), _ in parts:
            mp3_out.write(mp3_part.read_bytes())
            aac_out.write(aac_part.read_bytes())
    return ChapterAudio(mp3, aac, sum(unit.samples for _, unit in parts))


def _timeline(script: Script, units: list[_Segment]) -> Timeline:
    timings = []
    position = 0  # 44.1 kHz samples from the start of the book
    for number, chapter in enumerate(script.chapters):
        start = position
        sentences = []
        for unit in (u for u in units if u.chapter == number):
            # In the joined files a segment's sound starts after the MP3 encoder's delay
            # (the AAC's is 1024 samples, within a millisecond of it).
            at = position + MP3_DELAY
            for piece in unit.pieces:
                if piece.sentence_id:
                    begin, end = at, at + 2 * piece.frames
                    sentences.append(SentenceTiming(
                        piece.sentence_id, piece.text, _ms(begin), _ms(end),
                        _ms(begin - start), _ms(end - start)))
                at += 2 * piece.frames
            position += unit.samples
        timings.append(ChapterTiming(chapter.number, chapter.title, chapter.slug, _ms(start),
                                     _ms(position), _ms(position - start), tuple(sentences)))
    return Timeline(tuple(timings))


def _choose_gain(units: list[_Segment], store: _EncodeCache, previous_gain_db: float | None,
                 jobs: int) -> float:
    """The gain (dB) for the whole programme.

    Loudness is gated over the whole programme from each segment's K-weighted energy
    per 100 ms; an encoded segment keeps its energies in the cache, so checking that
    the previous gain still fits measures only the segments that changed.
    """
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    target = TARGET_LUFS + ENCODER_ALLOWANCE_LU
    if previous_gain_db is not None:
        def hops_at_previous_gain(unit: _Segment) -> np.ndarray:
            cached = store.hops(_segment_key(unit, previous_gain_db))
            return cached if cached is not None else _hops(unit.pieces, previous_gain_db,
                                                           ceiling)

        kept = _gated(units, hops_at_previous_gain, jobs)
        if abs(kept - target) <= GAIN_TOLERANCE_LU:
            return previous_gain_db
    measured = _gated(units, lambda unit: _hops(unit.pieces, 0.0, None), jobs)
    if not np.isfinite(measured):
        return 0.0
    gain_db = target - measured
    # The limiter takes a little off the peaks, and so off the loudness: measure what it
    # leaves at this gain and make up the difference once.
    limited = _gated(units, lambda unit: _hops(unit.pieces, gain_db, ceiling), jobs)
    if np.isfinite(limited):
        gain_db += target - limited
    return round(gain_db, 4)


def _gated(units: list[_Segment], hops: Callable[[_Segment], np.ndarray], jobs: int) -> float:
    # numpy's FFTs let go of the interpreter, so segments are measured side by side.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return gated_loudness(np.concatenate(list(pool.map(hops, units))), _HOP)


_HOP = round(SAMPLE_RATE * 0.1)


def _hops(pieces: tuple[_Piece, ...], gain_db: float, ceiling: float | None) -> np.ndarray:
    meter = StreamingMeter(SAMPLE_RATE)
    gain = 10 ** (gain_db / 20)
    for piece in pieces:
        samples = _samples(piece) * gain
        meter.feed(_limit(samples, ceiling) if ceiling is not None else samples)
    return meter.hops


def _segment_key(unit: _Segment, gain_db: float) -> str:
    content = [p.clip.key if p.clip else p.frames for p in unit.pieces]
    settings = [ENCODE_VERSION, MP3_ARGS, AAC_ARGS, QUIET, NOISE_FLOOR_DBFS, PEAK_CEILING_DBFS,
                LIMITER_WINDOW_MS, gain_db, unit.samples]
    return hashlib.sha256(json.dumps([settings, content]).encode()).hexdigest()


class _EncodeCache:
    """Encoded segments by content key.

    Beside the MP3 and the AAC, a small JSON record is written last: their sizes, the
    samples they decode to (checked frame by frame when they were made) and the
    chapter's K-weighted energy per 100 ms. An entry without its record, or whose
    files no longer have the recorded sizes, reads as missing.
    """

    def __init__(self, root: Path):
        self.root = root / "chapters"

    def paths(self, key: str) -> tuple[Path, Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.mp3", folder / f"{key}.aac", folder / f"{key}.json"

    def _record(self, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self.paths(key)[2].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def hops(self, key: str) -> np.ndarray | None:
        """The K-weighted energy per 100 ms of an encoded segment, if it is cached."""
        record = self._record(key)
        return np.asarray(record["hops"], dtype=np.float64) if record else None

    def get(self, key: str, samples: int) -> tuple[Path, Path] | None:
        mp3, aac, _ = self.paths(key)
        record = self._record(key)
        try:
            intact = (record is not None and record.get("samples") == samples
                      and mp3.stat().st_size == record.get("mp3_bytes")
                      and aac.stat().st_size == record.get("aac_bytes"))
        except OSError:
            return None
        return (mp3, aac) if intact else None

    def put(self, key: str, mp3: Path, aac: Path, hops: np.ndarray, samples: int
            ) -> tuple[Path, Path]:
        try:
            mp3_samples = audio_frames(mp3.read_bytes())[1]
            aac_samples = adts_frames(aac.read_bytes()) * AAC_FRAME
        except OSError as exc:
            raise EncodeError(f"cannot read an encoded chapter ({exc.strerror})") from None
        if mp3_samples != samples or aac_samples != samples:
            raise EncodeError(f"the encoders did not produce {samples} samples for a segment; "
                              "this ffmpeg build frames audio differently")
        final_mp3, final_aac, final_record = self.paths(key)
        record = {"samples": samples, "mp3_bytes": mp3.stat().st_size,
                  "aac_bytes": aac.stat().st_size, "hops": hops.tolist()}
        try:
            final_mp3.parent.mkdir(parents=True, exist_ok=True)
            move_into(aac, final_aac)
            move_into(mp3, final_mp3)
            staged = final_record.with_name(f".{final_record.name}.{os.getpid()}")
            staged.write_text(json.dumps(record), encoding="utf-8")
            os.replace(staged, final_record)
        except OSError as exc:
            raise cache_error(exc, self.root) from None
        return final_mp3, final_aac


def _encode_segment(unit: _Segment, gain_db: float, work: Path, index: int,
                    store: _EncodeCache, key: str, slots: threading.BoundedSemaphore
                    ) -> tuple[Path, Path]:
    """Write a segment's mastered PCM and encode it to MP3 and AAC, frame-exact."""
    staging = Path(tempfile.mkdtemp(prefix=".encode-", dir=work))
    wav, mp3, aac = staging / "segment.wav", staging / "segment.mp3", staging / "segment.aac"
    hops = _write_pcm(unit.pieces, gain_db, unit.pcm_frames, wav)
    mp3_pcm = (unit.samples - MP3_FRAME) // 2
    source: list[str | Path] = ["-i", wav.absolute(), "-map_metadata", "-1"]
    commands: list[tuple[list[str | Path], Path, str]] = [
        ([*source, "-af", f"atrim=end_sample={mp3_pcm}", *MP3_ARGS, "-write_xing", "0",
          "-id3v2_version", "0", *QUIET, "-f", "mp3", mp3.absolute()], mp3, "MP3"),
        ([*source, *AAC_ARGS, *QUIET, "-f", "adts", aac.absolute()], aac, "AAC"),
    ]
    what = f"encode chapter {unit.chapter + 1}"

    def run(args: list[str | Path], out: Path, name: str) -> None:
        with slots:
            ffmpeg(args, [out], f"{what} to {name}")

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(run, args, out, name) for args, out, name in commands]:
                future.result()
        return store.put(key, mp3, aac, hops, unit.samples)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_pcm(pieces: tuple[_Piece, ...], gain_db: float, total_frames: int, path: Path
               ) -> np.ndarray:
    """Write mastered PCM (gain, limiter, noise floor; the closing pause padded or cut to
    `total_frames`) and return its K-weighted energy per 100 ms."""
    gain = 10 ** (gain_db / 20)
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    noise = _noise(pieces)
    noise_level = 10 ** (NOISE_FLOOR_DBFS / 20)
    meter = StreamingMeter(SAMPLE_RATE)
    written = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        padding = _Piece(max(0, total_frames - sum(p.frames for p in pieces)))
        for piece in [*pieces, padding]:
            samples = _limit(_samples(piece) * gain, ceiling)[:total_frames - written]
            meter.feed(samples)
            samples += (noise.standard_normal(len(samples)) * noise_level).astype(np.float32)
            out.writeframes(_to_pcm16(samples))
            written += len(samples)
    if written != total_frames:
        raise EncodeError(f"chapter audio came out {written} frames long, not {total_frames}")
    return meter.hops


def _samples(piece: _Piece) -> np.ndarray:
    if piece.clip is None:
        return np.zeros(piece.frames, dtype=np.float32)
    return read_clip(piece.clip)


def read_clip(clip: Clip) -> np.ndarray:
    """A clip's samples as float32 at the programme's rate."""
    try:
        with wave.open(str(clip.path), "rb") as wav:
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise EngineError(f"a cached clip cannot be read ({exc}); run again with --force",
                          path=clip.path) from None
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if clip.sample_rate != SAMPLE_RATE:
        from scipy.signal import resample_poly  # only engines that speak at another rate

        samples = np.asarray(resample_poly(samples, SAMPLE_RATE, clip.sample_rate),
                             dtype=np.float32)
    return samples


def _limit(samples: np.ndarray, ceiling: float) -> np.ndarray:
    """A look-ahead peak limiter that never lets a sample exceed `ceiling`.

    The needed gain is the minimum over a window on both sides of each sample,
    then averaged over half that window: the average of values that are each at
    most the need at the centre cannot exceed it, so the ceiling holds exactly
    while the gain moves smoothly.
    """
    peak = np.abs(samples)
    if not len(samples) or peak.max() <= ceiling:
        return samples.astype(np.float32)
    width = max(1, round(SAMPLE_RATE * LIMITER_WINDOW_MS / 1000))
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-9))
    held = sliding_min(need, 2 * width + 1)
    smooth = moving_mean(held, width | 1)
    limited: np.ndarray = (samples * np.minimum(smooth, need)).astype(np.float32)
    return limited


def sliding_min(values: np.ndarray, size: int) -> np.ndarray:
    """The minimum over a centred window of odd `size`, edges extended (van Herk/Gil-Werman)."""
    half = size // 2
    padded = np.pad(values, half, mode="edge")
    blocks = -(-len(padded) // size)
    grid = np.full(blocks * size, np.inf)
    grid[:len(padded)] = padded
    rows = grid.reshape(blocks, size)
    prefix = np.minimum.accumulate(rows, axis=1).ravel()
    suffix = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    n = len(values)
    return np.minimum(suffix[:n], prefix[size - 1:size - 1 + n])


def moving_mean(values: np.ndarray, size: int) -> np.ndarray:
    """The mean over a centred window of odd `size`, edges extended."""
    padded = np.pad(values.astype(np.float64), size // 2, mode="edge")
    sums = np.concatenate(([0.0], np.cumsum(padded)))
    return (sums[size:] - sums[:-size]) / size


def _noise(pieces: tuple[_Piece, ...]) -> np.random.Generator:
    """The source of a faint noise floor (silence that is not digital zero).

    Seeded by the segment's own content, so a segment renders byte-identically
    whenever it has not changed.
    """
    content = ":".join(p.clip.key if p.clip else str(p.frames) for p in pieces)
    seed = int.from_bytes(hashlib.sha256(content.encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def _to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
