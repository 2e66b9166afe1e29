"""ITU-R BS.1770 loudness, measured while streaming so a book never sits in memory."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.signal import lfilter, lfilter_zi

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


class StreamingMeter:
    """Integrated loudness of a mono signal fed in pieces (same gating as pyloudnorm).

    The K-weighting filters keep their state between pieces; the signal's energy
    is kept per 100 ms hop, and each 400 ms gating block (75 % overlap) is the
    sum of four hops.
    """

    def __init__(self, rate: int):
        self.rate = rate
        self.hop = round(rate * 0.1)
        meter = pyloudnorm.Meter(rate)
        self._stages = [(f.b, f.a, f.passband_gain) for f in meter._filters.values()]
        self._states = [lfilter_zi(b, a) * 0.0 for b, a, _ in self._stages]
        self._hops: list[float] = []
        self._partial = 0.0
        self._partial_n = 0
        self.peak = 0.0

    def feed(self, samples: np.ndarray) -> None:
        """Add the next piece of the signal (float, full scale 1.0)."""
        if not len(samples):
            return
        self.peak = max(self.peak, float(np.max(np.abs(samples))))
        weighted = samples.astype(np.float64)
        for i, (b, a, gain) in enumerate(self._stages):
            weighted, self._states[i] = lfilter(b, a, weighted, zi=self._states[i])
            weighted = weighted * gain
        squares = weighted * weighted
        start = 0
        if self._partial_n:
            take = min(self.hop - self._partial_n, len(squares))
            self._partial += float(squares[:take].sum())
            self._partial_n += take
            start = take
            if self._partial_n == self.hop:
                self._hops.append(self._partial)
                self._partial, self._partial_n = 0.0, 0
        whole = (len(squares) - start) // self.hop
        if whole:
            body = squares[start:start + whole * self.hop].reshape(whole, self.hop)
            self._hops.extend(body.sum(axis=1).tolist())
        rest = squares[start + whole * self.hop:]
        if len(rest):
            self._partial += float(rest.sum())
            self._partial_n += len(rest)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; -inf for silence or less than 400 ms."""
        hops = np.asarray(self._hops)
        if len(hops) < 4:
            return float("-inf")
        blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / (4 * self.hop)
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10 * np.log10(blocks)
        gated = blocks[levels >= ABSOLUTE_GATE_LUFS]
        if not len(gated):
            return float("-inf")
        relative = -0.691 + 10 * np.log10(gated.mean()) + RELATIVE_GATE_LU
        final = blocks[(levels > relative) & (levels > ABSOLUTE_GATE_LUFS)]
        if not len(final):
            return float("-inf")
        return float(-0.691 + 10 * np.log10(final.mean()))
