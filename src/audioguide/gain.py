"""The programme's gain: one gain for the whole book, chosen by ITU-R BS.1770 loudness.

Loudness is gated over the whole programme from each segment's K-weighted energy per
100 ms. An encoded segment keeps its energies in the cache, so checking that the
previous gain still fits measures only the segments that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import assembly
from .framing import SAMPLE_RATE
from .loudness import StreamingMeter, gated_loudness
from .timeline import Segment

TARGET_LUFS = -19.0
# The encoders shave a little loudness off (measured on the encoded files: LAME about
# 0.4 LU, AAC about 0.1 LU), so the master aims this much above the target.
ENCODER_ALLOWANCE_LU = 0.2
# A re-render keeps the previous gain while it still lands this close to the target, so
# an edit does not change (and re-encode) every other chapter.
GAIN_TOLERANCE_LU = 0.5
HOP = round(SAMPLE_RATE * 0.1)

Hops = Callable[[Segment], np.ndarray]


def choose(units: Sequence[Segment], cached: Callable[[Segment, float], np.ndarray | None],
           previous_gain_db: float | None, jobs: int) -> float:
    """The gain (dB) that brings the mastered programme to the target loudness.

    `cached(segment, gain)` gives a segment's energies if it was encoded at that gain.
    """
    target = TARGET_LUFS + ENCODER_ALLOWANCE_LU
    if previous_gain_db is not None:
        previous = previous_gain_db

        def at_previous_gain(unit: Segment) -> np.ndarray:
            found = cached(unit, previous)
            return found if found is not None else energies(unit, previous, limited=True)

        kept = gated(units, at_previous_gain, jobs)
        if abs(kept - target) <= GAIN_TOLERANCE_LU:
            return previous_gain_db
    measured = gated(units, lambda unit: energies(unit, 0.0, limited=False), jobs)
    if not np.isfinite(measured):
        return 0.0
    gain_db = target - measured
    # The limiter takes a little off the peaks, and so off the loudness: measure what it
    # leaves at this gain and make up the difference once.
    first = gain_db
    limited = gated(units, lambda unit: energies(unit, first, limited=True), jobs)
    if np.isfinite(limited):
        gain_db += target - limited
    return round(gain_db, 4)


def energies(unit: Segment, gain_db: float, limited: bool) -> np.ndarray:
    """A segment's K-weighted energy per 100 ms at `gain_db`, peaks limited or not."""
    values = assembly.samples(assembly.assemble(unit.pieces))
    values = values * np.float32(10 ** (gain_db / 20))
    if limited:
        values = assembly.limit_samples(values, 10 ** (assembly.PEAK_CEILING_DBFS / 20))
    return hops(values)


def hops(values: np.ndarray) -> np.ndarray:
    """The K-weighted energy per 100 ms of a segment's samples, fed a second at a time
    (the meter's FFTs, and the memory they take, stay the size of a second)."""
    meter = StreamingMeter(SAMPLE_RATE)
    for start in range(0, len(values), SAMPLE_RATE):
        meter.feed(values[start:start + SAMPLE_RATE])
    return meter.hops


def gated(units: Sequence[Segment], hops: Hops, jobs: int) -> float:
    """Integrated loudness of the segments in order, from each one's energies."""
    # numpy's FFTs let go of the interpreter, so segments are measured side by side.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return gated_loudness(np.concatenate(list(pool.map(hops, units))), HOP)
