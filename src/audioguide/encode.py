"""Encoding: each segment's mastered PCM to MP3 and AAC once, cached by content; the
files joined from those encodes frame by frame, never encoded twice.

An encode keeps, beside its MP3 and AAC, a small record (written last): the frame
counts, where the last frames begin (so a join can keep any whole number of them
without reading the stream), and the K-weighted energy of its PCM per 100 ms (so
the loudness of the programme is measured, not assumed). An entry without its
record, or whose files no longer have the recorded sizes, reads as missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import assembly
from .errors import EncodeError
from .framing import (
    AAC,
    LAME_ENCODER_DELAY,
    LAME_PADDING,
    MP3,
    OUTPUT_RATE,
    SPARE_PCM_FRAMES,
)
from .fsutil import cache_error, move_into, write_atomically
from .gain import hops
from .mpegaudio import adts_offsets, frame_offsets, info_frame
from .timeline import Layout, Segment
from .tools import decoded_peak_dbfs, ffmpeg

MP3_BITRATE = "64k"
AAC_BITRATE = "64k"
ENCODE_VERSION = "2"
MP3_ARGS = ["-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE]
AAC_ARGS = ["-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "aac", "-b:a", AAC_BITRATE,
            # The default coder overshoots by up to 4 dB on speech onsets at this
            # bitrate (a true peak above 0 dBTP) and takes four times as long.
            "-aac_coder", "fast"]
QUIET = ["-fflags", "+bitexact", "-flags:a", "+bitexact"]
# Where the last frames of an encode begin is recorded for this many frames: a join
# keeps the encode's own length give or take a frame and a half.
TAIL_FRAMES = 8


@dataclass(frozen=True)
class Encoded:
    """A segment's cached encodes and where their last frames begin."""

    mp3: Path
    aac: Path
    mp3_frames: int
    aac_frames: int
    mp3_tail: tuple[int, ...]  # bytes to keep for mp3_frames - TAIL_FRAMES + i frames
    aac_tail: tuple[int, ...]
    aac_priming: int  # bytes of the first AAC frame (the encoder's priming)

    def frames(self, codec_name: str) -> int:
        return self.mp3_frames if codec_name == MP3.name else self.aac_frames

    def bytes_for(self, codec_name: str, count: int) -> int:
        """How many bytes hold the first `count` frames."""
        total = self.frames(codec_name)
        tail = self.mp3_tail if codec_name == MP3.name else self.aac_tail
        index = count - (total - (len(tail) - 1))
        if not 0 <= index < len(tail):
            raise EncodeError(f"a join asked for {count} of {total} frames of an encode")
        return tail[index]


def segment_key(segment: Segment, gain_db: float, verify_peaks: bool = False) -> str:
    """The content address of a segment's encodes."""
    content = [p.clip.key if p.clip else p.frames for p in segment.pieces]
    settings = [ENCODE_VERSION, MP3_ARGS, AAC_ARGS, QUIET, assembly.NOISE_FLOOR_DBFS,
                assembly.PEAK_CEILING_DBFS, assembly.LIMITER_WINDOW_MS,
                assembly.ROOM_TONE_SECONDS, SPARE_PCM_FRAMES, gain_db]
    if verify_peaks:  # the encodes may be made again, lower
        settings += [ACX_PEAK_DBFS, PEAK_MARGIN_DB, MAX_PEAK_PASSES]
    return hashlib.sha256(json.dumps([settings, content]).encode()).hexdigest()


class EncodeCache:
    """Encoded segments by content key."""

    def __init__(self, root: Path):
        self.root = root / "segments"

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

    def get(self, key: str) -> Encoded | None:
        mp3, aac, _ = self.paths(key)
        record = self._record(key)
        if record is None:
            return None
        try:
            intact = (mp3.stat().st_size == record["mp3_tail"][-1]
                      and aac.stat().st_size == record["aac_tail"][-1])
            encoded = Encoded(mp3, aac, int(record["mp3_frames"]), int(record["aac_frames"]),
                              tuple(record["mp3_tail"]), tuple(record["aac_tail"]),
                              int(record["aac_priming"]))
        except (OSError, KeyError, IndexError, TypeError, ValueError):
            return None
        return encoded if intact else None

    def put(self, key: str, mp3: Path, aac: Path, hops: np.ndarray) -> Encoded:
        try:
            mp3_offsets = frame_offsets(mp3.read_bytes())
            aac_offsets = adts_offsets(aac.read_bytes())
        except OSError as exc:
            raise EncodeError(f"cannot read an encoded segment ({exc.strerror})") from None
        record = {"mp3_frames": len(mp3_offsets) - 1, "aac_frames": len(aac_offsets) - 1,
                  "mp3_tail": mp3_offsets[-TAIL_FRAMES - 1:],
                  "aac_tail": aac_offsets[-TAIL_FRAMES - 1:], "aac_priming": aac_offsets[1],
                  "hops": hops.tolist()}
        final_mp3, final_aac, final_record = self.paths(key)
        # Another render (on this machine or another) may have made the same entry meanwhile:
        # it is the same audio, so it stands and ours is dropped.
        if (existing := self.get(key)) is not None:
            return existing
        try:
            final_mp3.parent.mkdir(parents=True, exist_ok=True)
            # The record goes last: until it is there the entry reads as missing, and
            # each file arrives whole through a rename.
            move_into(aac, final_aac)
            move_into(mp3, final_mp3)
            write_atomically(final_record, json.dumps(record))
        except OSError as exc:
            raise cache_error(exc, self.root) from None
        encoded = self.get(key)
        if encoded is None:
            raise EncodeError("an encoded segment could not be read back from the cache")
        return encoded


# ACX's limit for any sample of the published files, and how far under it a verified
# encode is kept. The limiter holds the master under PEAK_CEILING_DBFS; a lossy encoder
# may still overshoot where the speech has sharp onsets (Piper's by up to 3 dB, espeak-ng's
# by up to 0.55 dB on the article), so for an engine that says so (`verify_peaks`) every
# encode is decoded and measured, and one that passes is made again with the master's
# ceiling lowered by the overshoot.
ACX_PEAK_DBFS = -3.0
PEAK_MARGIN_DB = 0.3
MAX_PEAK_PASSES = 3


def encode(segment: Segment, gain_db: float, work: Path, store: EncodeCache, key: str,
           slots: threading.BoundedSemaphore, what: str, verify_peaks: bool = False
           ) -> Encoded:
    """Master a segment (with spare room tone after it) and encode it to MP3 and AAC; with
    `verify_peaks`, each is decoded and kept under ACX's peak limit."""
    staging = Path(tempfile.mkdtemp(prefix=".encode-", dir=work))
    wav, mp3, aac = staging / "segment.wav", staging / "segment.mp3", staging / "segment.aac"
    # One ffmpeg writes both: its start-up costs as much as a segment's MP3 encode, and
    # the files are byte for byte those of two separate runs.
    command: list[str | Path] = [
        "-i", wav.absolute(),
        "-map_metadata", "-1", *MP3_ARGS, "-write_xing", "0", "-id3v2_version", "0", *QUIET,
        "-f", "mp3", mp3.absolute(),
        "-map_metadata", "-1", *AAC_ARGS, *QUIET, "-f", "adts", aac.absolute(),
    ]
    try:
        assembled = assembly.assemble(segment.pieces, SPARE_PCM_FRAMES)
        ceiling = assembly.PEAK_CEILING_DBFS
        for _ in range(MAX_PEAK_PASSES):
            audio = assembly.master(assembled, gain_db, ceiling)
            energies = hops(assembly.samples(audio)[:segment.frames])
            mastered_peak = audio.max_dBFS
            with wav.open("wb") as handle:
                audio.export(handle, format="wav")
            del audio
            with slots:
                ffmpeg(command, [mp3, aac], f"{what} to MP3 and AAC")
                if not verify_peaks:
                    break
                peak = max(decoded_peak_dbfs(mp3), decoded_peak_dbfs(aac))
            overshoot = peak - (ACX_PEAK_DBFS - PEAK_MARGIN_DB)
            if overshoot <= 0:
                break
            ceiling = min(ceiling, mastered_peak) - overshoot - PEAK_MARGIN_DB
        return store.put(key, mp3, aac, energies)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def join_mp3(layout: Layout, encodes: dict[Segment, Encoded], out: Path) -> int:
    """Write the layout's MP3 frames behind one Info frame; returns the output samples."""
    parts = [(encodes[segment], count) for segment, count in zip(layout.segments, layout.kept,
                                                                   strict=True)]
    audio_bytes = sum(encoded.bytes_for(MP3.name, count) for encoded, count in parts)
    frames = sum(count for _, count in parts)
    with parts[0][0].mp3.open("rb") as first:
        header = first.read(4)
    with out.open("wb") as sink:
        sink.write(info_frame(header, frames, audio_bytes, LAME_ENCODER_DELAY, LAME_PADDING))
        _copy(sink, [(encoded.mp3, 0, encoded.bytes_for(MP3.name, count))
                     for encoded, count in parts])
    return frames * MP3.frame


def join_aac(layout: Layout, encodes: dict[Segment, Encoded], out: Path) -> int:
    """Write the layout's AAC frames, the first (the encoder's priming) left out."""
    parts = []
    for index, (segment, count) in enumerate(zip(layout.segments, layout.kept, strict=True)):
        encoded = encodes[segment]
        skip = encoded.aac_priming if index == 0 else 0
        parts.append((encoded.aac, skip, encoded.bytes_for(AAC.name, count)))
    with out.open("wb") as sink:
        _copy(sink, parts)
    return (sum(layout.kept) - 1) * AAC.frame


def _copy(sink: Any, parts: Sequence[tuple[Path, int, int]]) -> None:
    for path, start, end in parts:
        with path.open("rb") as source:
            source.seek(start)
            sink.write(source.read(end - start))
