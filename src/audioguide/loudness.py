"""ITU-R BS.1770 loudness, measured while streaming so a book never sits in memory.

The K-weighting is the standard pair of biquads (RBJ cookbook designs, as
pyloudnorm uses: a +4 dB high shelf at 1500 Hz and a 38 Hz high-pass). It is
applied as its impulse response, truncated where it has decayed below any
effect on the energy, by FFT convolution with overlap-add: numpy alone, no
recursive filter, and exact across the joins between pieces. The tests check the
result against pyloudnorm.
"""

from __future__ import annotations

from functools import cache

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# The 38 Hz high-pass is critically damped (Q = 0.5): its response falls by e^-24
# within 0.1 s, far below anything the energy could show.
IMPULSE_SECONDS = 0.1


def _biquad(kind: str, gain_db: float, q: float, fc: float, rate: int
            ) -> tuple[list[float], list[float]]:
    a_gain = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * fc / rate
    alpha = np.sin(w0) / (2 * q)
    cos = np.cos(w0)
    if kind == "high_shelf":
        root = 2 * np.sqrt(a_gain) * alpha
        b = [a_gain * ((a_gain + 1) + (a_gain - 1) * cos + root),
             -2 * a_gain * ((a_gain - 1) + (a_gain + 1) * cos),
             a_gain * ((a_gain + 1) + (a_gain - 1) * cos - root)]
        a = [(a_gain + 1) - (a_gain - 1) * cos + root,
             2 * ((a_gain - 1) - (a_gain + 1) * cos),
             (a_gain + 1) - (a_gain - 1) * cos - root]
    else:  # high-pass
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    return [x / a[0] for x in b], [x / a[0] for x in a]


@cache
def k_weighting_impulse(rate: int) -> np.ndarray:
    """The K-weighting filter's impulse response at `rate`, long enough to be exact."""
    n = round(rate * IMPULSE_SECONDS)
    signal = [1.0] + [0.0] * (n - 1)
    for kind, gain_db, q, fc in (("high_shelf", 4.0, 1 / np.sqrt(2), 1500.0),
                                 ("high_pass", 0.0, 0.5, 38.0)):
        (b0, b1, b2), (_, a1, a2) = _biquad(kind, gain_db, q, fc, rate)
        out = []
        x1 = x2 = y1 = y2 = 0.0
        for x in signal:
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            out.append(y)
            x2, x1, y2, y1 = x1, x, y1, y
        signal = out
    return np.asarray(signal)


@cache
def _impulse_spectrum(rate: int, size: int) -> np.ndarray:
    return np.fft.rfft(k_weighting_impulse(rate), size)


class StreamingMeter:
    """Integrated loudness of a mono signal fed in pieces (same gating as pyloudnorm).

    The signal's K-weighted energy is kept per 100 ms hop; each 400 ms gating block
    (75 % overlap) is the sum of four hops.
    """

    def __init__(self, rate: int):
        self.rate = rate
        self.hop = round(rate * 0.1)
        self._impulse = k_weighting_impulse(rate)
        self._tail = np.zeros(len(self._impulse) - 1)
        self._hops: list[float] = []
        self._partial = 0.0
        self._partial_n = 0

    def feed(self, samples: np.ndarray) -> None:
        """Add the next piece of the signal (float, full scale 1.0)."""
        if not len(samples):
            return
        weighted = self._filter(samples.astype(np.float64))
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

    def _filter(self, samples: np.ndarray) -> np.ndarray:
        """Convolve with the impulse response, carrying the tail into the next piece."""
        impulse = self._impulse
        full = np.zeros(len(samples) + len(impulse) - 1)
        if samples.any():  # silence only passes the previous tail on
            size = 1 << (len(full) - 1).bit_length()
            spectrum = _impulse_spectrum(self.rate, size)
            full[:] = np.fft.irfft(np.fft.rfft(samples, size) * spectrum, size)[:len(full)]
        full[:len(self._tail)] += self._tail
        self._tail = full[len(samples):].copy()
        return full[:len(samples)]

    @property
    def hops(self) -> np.ndarray:
        """The K-weighted energy of each complete 100 ms hop fed so far."""
        return np.asarray(self._hops)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; -inf for silence or less than 400 ms."""
        return gated_loudness(self.hops, self.hop)


def gated_loudness(hops: np.ndarray, hop: int) -> float:
    """BS.1770 integrated loudness from the K-weighted energy of consecutive 100 ms hops."""
    if len(hops) < 4:
        return float("-inf")
    blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / (4 * hop)
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
