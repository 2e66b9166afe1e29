"""Assembly with pydub: clips, pauses and room tone into the mastered PCM of a segment.

Everything that goes to the encoders is an `AudioSegment`: each clip is read as one
(trimmed to its speech when it is made), each pause is pydub silence, the programme's
gain is pydub's, and the noise floor is a loop of room tone made by a pydub signal
generator, laid under the whole segment. A segment is about twenty seconds, so the
copies pydub makes as it joins stay small.

numpy does what pydub has no counterpart for: the look-ahead peak limiter (pydub's
`compress_dynamic_range` is a compressor, pure Python and far too slow for a book)
and the samples the BS.1770 meter reads.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from functools import cache, reduce
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # pydub looks for ffmpeg when imported; audioguide never has pydub run it (tools.py
    # runs ffmpeg, and says how to install it when it is missing).
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop, on Python 3.11 and 3.12
    from pydub import AudioSegment
    from pydub.generators import SignalGenerator

from .errors import EngineError
from .framing import SAMPLE_RATE
from .timeline import CLIP_MARGIN_MS, EDGE_BELOW_SPEECH_DB, SILENCE_THRESHOLD_DBFS, Piece

PEAK_CEILING_DBFS = -3.9  # the encoders add up to 0.6 dB: the files stay under -3 dBFS
NOISE_FLOOR_DBFS = -72.0
ROOM_TONE_SECONDS = 5.3  # the loop's length: long enough that no repetition is heard
LIMITER_WINDOW_MS = 3
SAMPLE_WIDTH = 2


def read(path: Path) -> AudioSegment:
    """A mono 16-bit WAV file as an AudioSegment at the programme's rate."""
    try:
        with path.open("rb") as handle:  # pydub leaks the handle when given a path
            audio = AudioSegment.from_wav(handle)
    except (OSError, EOFError, ValueError, IndexError) as exc:
        raise EngineError(f"a clip cannot be read ({exc}); run again with --force",
                          path=path) from None
    if audio.channels != 1 or audio.sample_width != SAMPLE_WIDTH:
        audio = audio.set_channels(1).set_sample_width(SAMPLE_WIDTH)
    return audio if audio.frame_rate == SAMPLE_RATE else audio.set_frame_rate(SAMPLE_RATE)


def trim(path: Path) -> int:
    """Make a fresh clip's leading and trailing quiet exactly CLIP_MARGIN_MS each side:
    the engine's own silence cut, or silence added where it speaks sooner.

    Returns the ms by which everything in the clip moved (later when positive), for the
    times that go with it. A clip with no sound at all is left as it is (the caller
    reports it).
    """
    audio = read(path)
    lead, trail = quiet_edges_ms(audio)
    if lead >= len(audio):
        return 0
    margin = silence(round(CLIP_MARGIN_MS * SAMPLE_RATE / 1000))
    trimmed = margin + audio[lead:len(audio) - trail] + margin
    with path.open("wb") as handle:
        trimmed.export(handle, format="wav")
    return CLIP_MARGIN_MS - lead


def join_runs(paths: list[Path], gap_ms: int, out: Path) -> list[int]:
    """Write the clips at `paths` one after another with `gap_ms` of silence between them
    into `out`; returns where each starts, in ms."""
    gap = silence(round(max(0, gap_ms) * SAMPLE_RATE / 1000))
    joined, starts = silence(0), []
    for i, path in enumerate(paths):
        if i:
            joined += gap
        starts.append(round(joined.frame_count() * 1000 / SAMPLE_RATE))
        joined += read(path)
    with out.open("wb") as handle:
        joined.export(handle, format="wav")
    return starts


def quiet_edges_ms(audio: AudioSegment) -> tuple[int, int]:
    """The milliseconds of quiet at the start and at the end of `audio`: 1 ms chunks
    under SILENCE_THRESHOLD_DBFS, or more than EDGE_BELOW_SPEECH_DB under the level of
    the clip's speech (the power of its chunks above SILENCE_THRESHOLD_DBFS).

    pydub's `detect_leading_silence` walks the same chunks a millisecond at a time in
    Python, some 60 ms for each clip, which a book's thousands of clips cannot afford,
    and knows only a fixed threshold.
    """
    chunk = audio.frame_rate // 1000
    values = np.frombuffer(audio.raw_data, dtype="<i2").astype(np.float64)
    count = -(-len(values) // chunk)
    padded = np.zeros(count * chunk)
    padded[:len(values)] = values
    power = (padded.reshape(count, chunk) ** 2).mean(axis=1)
    floor = (32768 * 10 ** (SILENCE_THRESHOLD_DBFS / 20)) ** 2
    voiced = power[power >= floor]
    if not len(voiced):
        return len(audio), 0
    threshold = max(floor, float(voiced.mean()) * 10 ** (-EDGE_BELOW_SPEECH_DB / 10))
    loud = np.nonzero(power >= threshold)[0]
    return int(loud[0]), int(count - 1 - loud[-1])


def silence(frames: int) -> AudioSegment:
    """`frames` of digital silence at the programme's rate (room tone is laid on later)."""
    audio = AudioSegment.silent(duration=(frames + 0.5) * 1000 / SAMPLE_RATE,
                                frame_rate=SAMPLE_RATE)
    return audio if audio.frame_count() == frames else audio.get_sample_slice(0, frames)


def assemble(pieces: tuple[Piece, ...], extra_frames: int = 0) -> AudioSegment:
    """The segment's clips and pauses, joined at unity gain, and `extra_frames` more quiet."""
    parts = [read(p.clip.path) if p.clip is not None else silence(p.frames) for p in pieces]
    if extra_frames:
        parts.append(silence(extra_frames))
    joined: AudioSegment = reduce(lambda a, b: a + b, parts, silence(0))
    return joined


def master(audio: AudioSegment, gain_db: float,
           ceiling_dbfs: float = PEAK_CEILING_DBFS) -> AudioSegment:
    """The programme gain (pydub), its peaks limited first, and room tone laid under it."""
    limited = limit(audio, ceiling_dbfs - gain_db)
    return limited.apply_gain(gain_db).overlay(room_tone(), loop=True)


def samples(audio: AudioSegment) -> np.ndarray:
    """The segment's samples as float32, full scale 1.0 (what the meter reads)."""
    raw = np.frombuffer(audio.raw_data, dtype="<i2")
    return raw.astype(np.float32) / 32768.0


def limit(audio: AudioSegment, ceiling_dbfs: float) -> AudioSegment:
    """The segment with no sample above `ceiling_dbfs` (look-ahead, smooth gain)."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    values = samples(audio)
    limited = limit_samples(values, ceiling)
    if limited is values:
        return audio
    pcm = np.clip(np.round(limited * 32768.0), -32768, 32767).astype("<i2")
    return AudioSegment(data=pcm.tobytes(), sample_width=SAMPLE_WIDTH,
                        frame_rate=audio.frame_rate, channels=1)


def limit_samples(values: np.ndarray, ceiling: float) -> np.ndarray:
    """A look-ahead peak limiter that never lets a sample exceed `ceiling`.

    The needed gain is the minimum over a window on both sides of each sample,
    then averaged over half that window: the average of values that are each at
    most the need at the centre cannot exceed it, so the ceiling holds exactly
    while the gain moves smoothly. Returns `values` itself when nothing exceeds it.

    The gain reaches only a few milliseconds, so it is worked out a second at a time
    (with that reach on each side), to the same samples: over a whole segment at once,
    its arrays took 2 MB a second of audio (54 MB for a 28-second segment).
    """
    peak = np.abs(values)
    if not len(values) or peak.max() <= ceiling:
        return values
    width = max(1, round(SAMPLE_RATE * LIMITER_WINDOW_MS / 1000))
    need = np.minimum(np.float32(1.0), np.float32(ceiling) / np.maximum(peak, np.float32(1e-9)))
    del peak
    reach = width + (width | 1) // 2 + 1
    limited = np.empty_like(values)
    for start in range(0, len(values), SAMPLE_RATE):
        end = min(len(values), start + SAMPLE_RATE)
        lo, hi = max(0, start - reach), min(len(values), end + reach)
        held = sliding_min(need[lo:hi], 2 * width + 1)
        smooth = moving_mean(held, width | 1)[start - lo:end - lo]
        # Rounding to 16 bits could land a hair above the ceiling: stay a step below it.
        limited[start:end] = (values[start:end] * np.minimum(smooth, need[start:end])
                              * (1 - 2 ** -14))
    return limited


def sliding_min(values: np.ndarray, size: int) -> np.ndarray:
    """The minimum over a centred window of odd `size`, edges extended (van Herk/Gil-Werman)."""
    half = size // 2
    padded = np.pad(values, half, mode="edge")
    blocks = -(-len(padded) // size)
    grid = np.full(blocks * size, np.inf, dtype=values.dtype)
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
    mean: np.ndarray = ((sums[size:] - sums[:-size]) / size).astype(values.dtype)
    return mean


class _RoomTone(SignalGenerator):  # type: ignore[misc]  # pydub is untyped
    """White noise from a fixed seed, so that every render lays the same room tone."""

    def generate(self) -> Iterator[float]:
        source = random.Random(1770)
        while True:
            yield source.uniform(-1.0, 1.0)


@cache
def room_tone() -> AudioSegment:
    """A loop of faint room tone (the noise floor: quiet, but never digital silence)."""
    # A uniform signal's RMS is 1/sqrt(3) of its peak: ask for the peak that gives the floor.
    peak_dbfs = NOISE_FLOOR_DBFS + 20 * np.log10(np.sqrt(3))
    tone: AudioSegment = _RoomTone(SAMPLE_RATE).to_audio_segment(
        duration=ROOM_TONE_SECONDS * 1000, volume=float(peak_dbfs))
    return tone
