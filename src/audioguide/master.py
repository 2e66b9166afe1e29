"""Mastering, stage by stage: plan the programme, choose its gain, encode its segments
(reusing cached encodes), join the files and time them.

    timeline.plan / segments / pads   what is heard when, cut into encode segments
    gain.choose                       one gain for the whole programme (BS.1770)
    encode.encode                     pydub assembly (assembly.py), then MP3 and AAC once
    timeline.lay_out / encode.join_*  each file joined frame by frame from the encodes
    timeline.timeline                 chapter and sentence times, as the files are heard

Memory does not grow with the length of the book: a segment is assembled at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import gain, timeline
from .encode import EncodeCache, Encoded, encode, join_aac, join_mp3, segment_key
from .errors import EncodeError
from .framing import AAC, MP3, SAMPLE_RATE
from .model import BookAudio, ChapterAudio, Clip, Script, Timeline
from .timeline import Layout, Segment

TARGET_LUFS = gain.TARGET_LUFS

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Mastered:
    """The mastered, encoded programme and its measured timeline."""

    book: BookAudio
    chapters: tuple[ChapterAudio, ...]
    timeline: Timeline
    mastered_lufs: float
    gain_db: float
    encoded: int
    segments: tuple[str, ...] = ()  # the cache keys of the encoded segments it joined
    encoded_ms: int = 0  # how much audio was encoded now (the rest came from the cache)


def master(script: Script, clips: dict[str, Clip], work: Path, cache: Path, jobs: int = 1,
           progress: Progress | None = None, previous_gain_db: float | None = None,
           verify_peaks: bool = False) -> Mastered:
    """Master and encode every segment (reusing cached encodes), join the files, and time
    the book."""
    _map_large_buffers()
    units = [segment for index, pieces in enumerate(timeline.plan(script, clips))
             for segment in timeline.segments(index, pieces)]
    chapter_parts = []
    for index in range(len(script.chapters)):
        head, tail = timeline.pads(script, index)
        own = [s for s in units if s.chapter == index]
        chapter_parts.append([*([head] if head else []), *own, *([tail] if tail else [])])
    store = EncodeCache(cache)

    def cached_hops(unit: Segment, gain_db: float) -> np.ndarray | None:
        return store.hops(segment_key(unit, gain_db, verify_peaks))

    gain_db = gain.choose(units, cached_hops, previous_gain_db, jobs)
    pads = list(dict.fromkeys(s for parts in chapter_parts for s in parts if s.chapter < 0))
    encodes, changed = _encode_all([*units, *pads], gain_db, store, work, jobs, progress,
                                   verify_peaks)

    book = _lay_out(units, encodes)
    chapter_files = [_lay_out(parts, encodes) for parts in chapter_parts]
    book_mp3, book_aac = work / "book.mp3", work / "book.aac"
    mp3_samples = join_mp3(book, encodes, book_mp3)
    # The M4B follows the MP3's actual times, so captions fit both within half a frame.
    aac_layout = timeline.lay_out(AAC, list(book.segments),
                                  [encodes[s].aac_frames for s in book.segments],
                                  starts=book.heard(MP3))
    aac_samples = join_aac(aac_layout, encodes, book_aac)
    chapters = []
    for index, layout in enumerate(chapter_files):
        path = work / f"{index + 1:04d}.mp3"
        chapters.append(ChapterAudio(path, join_mp3(layout, encodes, path) - MP3.delay))
    mastered_lufs = gain.gated(units, lambda unit: _recorded(store, unit, gain_db,
                                                             verify_peaks), 1)
    return Mastered(BookAudio(book_mp3, book_aac, mp3_samples - MP3.delay, aac_samples),
                    tuple(chapters), timeline.timeline(script, book, chapter_files),
                    mastered_lufs, gain_db,
                    encoded=len({s.chapter for s in changed if s.chapter >= 0}),
                    segments=tuple(segment_key(s, gain_db, verify_peaks) for s in encodes),
                    encoded_ms=sum(s.frames for s in changed) * 1000 // SAMPLE_RATE)


def _map_large_buffers() -> None:
    """Have glibc map each buffer of 128 KB or more on its own, in at most two arenas.

    A segment's assembly and metering allocate and free clips and buffers of a few
    hundred kilobytes to a few megabytes in several threads; glibc would otherwise keep
    them in each thread's arena after the first free, and the process would grow with
    the number of segments (measured on a 2.3-hour book: 10 MB less at the peak, and
    no slower).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-8, 2)  # M_ARENA_MAX
            libc.mallopt(-3, 128 << 10)  # M_MMAP_THRESHOLD


def _lay_out(parts: list[Segment], encodes: dict[Segment, Encoded]) -> Layout:
    return timeline.lay_out(MP3, parts, [encodes[s].mp3_frames for s in parts])


def _encode_all(units: list[Segment], gain_db: float, store: EncodeCache, work: Path,
                jobs: int, progress: Progress | None, verify_peaks: bool = False
                ) -> tuple[dict[Segment, Encoded], list[Segment]]:
    """Every segment's encodes, from the cache or made now (at most `jobs` encoders at once;
    a segment's MP3 and AAC side by side when they are all there is to do)."""
    slots = threading.BoundedSemaphore(max(1, jobs))
    changed: list[Segment] = []
    finished: list[Segment] = []

    def produce(unit: Segment) -> Encoded:
        key = segment_key(unit, gain_db, verify_peaks)
        encoded = store.get(key)
        if encoded is None:
            what = f"encode chapter {unit.chapter + 1}" if unit.chapter >= 0 else "encode room tone"
            encoded = encode(unit, gain_db, work, store, key, slots, what, verify_peaks)
            changed.append(unit)
        finished.append(unit)
        if progress:
            progress("encode", len(finished), len(units))
        return encoded

    # Longest first, so that the last to finish is a short one.
    order = sorted(units, key=lambda unit: -unit.frames)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip(order, pool.map(produce, order), strict=True)), changed


def _recorded(store: EncodeCache, unit: Segment, gain_db: float,
              verify_peaks: bool) -> np.ndarray:
    hops = store.hops(segment_key(unit, gain_db, verify_peaks))
    if hops is None:
        raise EncodeError("an encoded segment lost its record in the cache; render again")
    return hops
