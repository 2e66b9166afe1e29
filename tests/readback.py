"""Reading published files back: decoding, probing and measuring them with other tools.

Shared by the render, command-line and real-engine tests, so that every check reads
the files the way a player or a validator would, never the numbers that wrote them.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
from PIL import Image

RATE = 44100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@functools.lru_cache(maxsize=32)
def _decode(path: str, size: int) -> np.ndarray:
    """The first audio stream as mono float samples at 44.1 kHz, as ffmpeg plays it."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le",
         "-ac", "1", "-ar", str(RATE), "-"], capture_output=True, check=True)
    return np.frombuffer(result.stdout, dtype="<f4")


def decode(path: Path) -> np.ndarray:
    return _decode(str(path), path.stat().st_size)


def decoded_ms(path: Path) -> float:
    return len(decode(path)) * 1000 / RATE


def probe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_chapters", "-show_streams",
         "-show_format", str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def probed_chapters(path: Path) -> list[tuple[str, float, float]]:
    """(title, start ms, end ms) of each chapter as ffprobe reads them."""
    return [(c["tags"]["title"], round(float(c["start_time"]) * 1000, 3),
             round(float(c["end_time"]) * 1000, 3)) for c in probe(path)["chapters"]]


def loudness_lufs(path: Path) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(decode(path).astype(np.float64)))


def true_peak_dbtp(path: Path) -> float:
    """The true peak from ffmpeg's ebur128 filter, read from its closing summary only."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True,
        check=True)
    summary = result.stderr.rsplit("Summary:", 1)[1]
    true_peak = summary.split("True peak:", 1)[1]
    match = re.search(r"Peak:\s+(-?[\d.]+|-inf)\s+dBFS", true_peak)
    assert match, summary
    return float(match.group(1))


def top_level_boxes(path: Path) -> list[tuple[bytes, int]]:
    """The MP4 file's top-level boxes as (type, size), in file order."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        assert size >= 8
        boxes.append((kind, size))
        offset += size
    assert offset == len(data)
    return boxes


def is_png(data: bytes) -> bool:
    if not data.startswith(PNG_SIGNATURE):
        return False
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    return True


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digests(folder: Path) -> dict[str, str]:
    """Every file below `folder` and its sha256."""
    return {p.relative_to(folder).as_posix(): sha256(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------
# Levels and silences as audiobook production measures them (ACX's checks)
# ---------------------------------------------------------------------------

SPEECH_DBFS = -45.0  # a 2 ms window louder than this is sound, in the pause measurements


def _window_levels(samples: np.ndarray, ms: int) -> tuple[np.ndarray, int]:
    """The RMS level (dBFS) of consecutive `ms` windows, and the window's length."""
    size = RATE * ms // 1000
    count = len(samples) // size
    blocks = samples[:count * size].astype(np.float64).reshape(count, size)
    return 10 * np.log10((blocks**2).mean(axis=1) + 1e-20), size


def sample_peak_dbfs(path: Path) -> float:
    return float(20 * np.log10(np.abs(decode(path)).max()))


def rms_db(path: Path) -> float:
    """The whole file's RMS (dBFS), pauses included, as ACX measures it."""
    samples = decode(path).astype(np.float64)
    return float(10 * np.log10(np.mean(samples**2)))


def noise_floor_db(path: Path) -> float:
    """The RMS of the quietest half second of the file (ACX's noise floor)."""
    levels, _ = _window_levels(decode(path), 10)
    power = 10 ** (levels / 10)
    moving = np.convolve(power, np.ones(50) / 50, mode="valid")
    return float(10 * np.log10(moving.min()))


def head_and_tail_ms(path: Path) -> tuple[float, float]:
    """The room tone before the first sound and after the last (10 ms windows)."""
    levels, size = _window_levels(decode(path), 10)
    sound = np.nonzero(levels > SPEECH_DBFS)[0]
    assert len(sound), path
    return (float(sound[0] * size * 1000 / RATE),
            float((len(levels) - sound[-1] - 1) * size * 1000 / RATE))


def onset_ms(path: Path, near_ms: float) -> float:
    """Where sound begins, searching forward from 80 ms before `near_ms`."""
    levels, size = _window_levels(decode(path), 2)
    index = max(0, round((near_ms - 80) * RATE / 1000) // size)
    while index < len(levels) and levels[index] <= SPEECH_DBFS:
        index += 1
    return index * size * 1000 / RATE


def offset_ms(path: Path, near_ms: float) -> float:
    """Where sound ends, searching back from 80 ms after `near_ms`."""
    levels, size = _window_levels(decode(path), 2)
    index = min(len(levels) - 1, round((near_ms + 80) * RATE / 1000) // size)
    while index >= 0 and levels[index] <= SPEECH_DBFS:
        index -= 1
    return (index + 1) * size * 1000 / RATE


def pitch_hz(samples: np.ndarray, start_ms: float, end_ms: float) -> float:
    """The median fundamental frequency of the voiced 40 ms frames between two times
    (autocorrelation, 70-400 Hz): a voice's register, to tell two voices apart."""
    part = samples[int(start_ms * RATE / 1000):int(end_ms * RATE / 1000)].astype(np.float64)
    size, low, high = int(0.04 * RATE), RATE // 400, RATE // 70
    found = []
    for at in range(0, len(part) - size, size // 2):
        frame = part[at:at + size] - part[at:at + size].mean()
        if np.sqrt((frame ** 2).mean()) < 0.01:
            continue
        correlation = np.correlate(frame, frame, "full")[size - 1:]
        lag = low + int(np.argmax(correlation[low:high]))
        if correlation[lag] > 0.3 * correlation[0]:
            found.append(RATE / lag)
    assert found, f"no voiced frame between {start_ms} and {end_ms} ms"
    return float(np.median(found))
