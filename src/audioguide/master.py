"""Assembly and mastering: clips and pauses into one mastered WAV per chapter.

Everything streams one sentence at a time, so memory does not grow with the
length of the book. Two passes: the first measures the loudness of the whole
programme (BS.1770), the second applies one gain to all of it, limits the
peaks, adds a faint noise floor, and writes each chapter. The timeline comes
from the frames actually written, the single timing source for every output.
"""

from __future__ import annotations

import hashlib
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from .errors import EngineError
from .loudness import StreamingMeter
from .model import ChapterTiming, Clip, Script, SentenceTiming, Timeline

SAMPLE_RATE = 22050
TARGET_LUFS = -19.0
# The encoders shave a little loudness off (measured on the encoded files: LAME about
# 0.4 LU, AAC about 0.1 LU), so the master aims this much above the target.
ENCODER_ALLOWANCE_LU = 0.2
PEAK_CEILING_DBFS = -3.0
NOISE_FLOOR_DBFS = -72.0
LIMITER_WINDOW_MS = 3

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Mastered:
    """The mastered programme: one WAV per chapter and the measured timeline."""

    chapter_wavs: tuple[Path, ...]
    timeline: Timeline
    sample_rate: int
    measured_lufs: float
    gain_db: float


@dataclass(frozen=True)
class _Piece:
    """A stretch of the programme: a clip (with its sentence) or silence."""

    chapter: int
    frames: int
    clip: Clip | None = None
    sentence_id: str = ""
    text: str = ""


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
        pieces = [_Piece(index, _frames(head_ms))]
        for i, sentence in enumerate(chapter.sentences):
            clip = clips[sentence.id]
            pieces.append(_Piece(index, clip.frames, clip, sentence.id, sentence.text))
            pause_ms = sentence.pause_after_ms
            if i == len(chapter.sentences) - 1:
                pause_ms = max(0, pause_ms - next_head_ms) + (pauses.tail_ms if last else 0)
            if pause_ms:
                pieces.append(_Piece(index, _frames(pause_ms)))
        chapters.append(pieces)
    return chapters


def _frames(ms: int) -> int:
    return round(ms * SAMPLE_RATE / 1000)


def _ms(frames: int) -> int:
    return round(frames * 1000 / SAMPLE_RATE)


def master(script: Script, clips: dict[str, Clip], folder: Path,
           progress: Progress | None = None) -> Mastered:
    """Write one mastered WAV per chapter into `folder` and return the timeline."""
    chapters = plan(script, clips)
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    target = TARGET_LUFS + ENCODER_ALLOWANCE_LU
    measured = _loudness(chapters, 1.0, None)
    gain_db = target - measured if np.isfinite(measured) else 0.0
    # The limiter takes a little off the peaks, and so off the loudness: measure what it
    # leaves at this gain and make up the difference once.
    limited = _loudness(chapters, 10 ** (gain_db / 20), ceiling)
    if np.isfinite(limited):
        gain_db += target - limited
    gain = 10 ** (gain_db / 20)

    wavs = []
    timings = []
    position = 0
    for index, pieces in enumerate(chapters):
        chapter = script.chapters[index]
        path = folder / f"{index + 1:03d}.wav"
        chapter_start = position
        sentences = []
        noise = _noise(pieces)
        noise_level = 10 ** (NOISE_FLOOR_DBFS / 20)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            for piece in pieces:
                samples = _limit(_samples(piece) * gain, ceiling)
                samples += (noise.standard_normal(len(samples)) * noise_level).astype(np.float32)
                out.writeframes(_to_pcm16(samples))
                if piece.clip is not None:
                    sentences.append(SentenceTiming(
                        piece.sentence_id, piece.text, _ms(position), _ms(position + piece.frames),
                        _ms(chapter_start)))
                position += piece.frames
        wavs.append(path)
        timings.append(ChapterTiming(chapter.number, chapter.title, chapter.slug,
                                     _ms(chapter_start), _ms(position), tuple(sentences)))
        if progress:
            progress("master", index + 1, len(chapters))
    return Mastered(tuple(wavs), Timeline(tuple(timings)), SAMPLE_RATE, measured, gain_db)


def _loudness(chapters: list[list[_Piece]], gain: float, ceiling: float | None) -> float:
    meter = StreamingMeter(SAMPLE_RATE)
    for pieces in chapters:
        for piece in pieces:
            samples = _samples(piece) * gain
            meter.feed(_limit(samples, ceiling) if ceiling is not None else samples)
    return meter.integrated()


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
        samples = resample_poly(samples, SAMPLE_RATE, clip.sample_rate).astype(np.float32)
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
    held = minimum_filter1d(need, size=2 * width + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=width | 1, mode="nearest")
    return (samples * np.minimum(smooth, need)).astype(np.float32)


def _noise(pieces: list[_Piece]) -> np.random.Generator:
    """The source of a faint noise floor (silence that is not digital zero).

    Seeded by the chapter's own content, so a chapter renders byte-identically
    whenever it has not changed.
    """
    content = ":".join(p.clip.key if p.clip else str(p.frames) for p in pieces)
    seed = int.from_bytes(hashlib.sha256(content.encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def _to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
