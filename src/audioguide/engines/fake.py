"""A deterministic engine for fast tests: speech-like tones, no TTS installed.

Its clips have the level and rhythm of speech (a voiced tone per syllable with
short gaps, and an end pause like espeak-ng's; a voice with a female variant such as
"fake+f3" an octave higher) so that mastering and loudness
behave as with the real engine, while taking microseconds. It reports each word's
time as the span of its tones.
"""

from __future__ import annotations

import hashlib
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Voice, WordTime
from . import VoiceInfo, register

if TYPE_CHECKING:  # numpy is imported where sound is made: a no-op render needs none
    import numpy as np

SAMPLE_RATE = 22050
END_PAUSE_MS = 230


class FakeEngine:
    """Writes a tone sequence whose length follows the text and the rate."""

    isolated = False
    version = "4"

    def check(self) -> None:
        """The fake engine needs nothing installed."""

    def identity(self, voice: Voice) -> str:
        return f"fake {self.version} voice={voice.voice} rate={voice.rate} volume={voice.volume}"

    def synthesize(self, text: str, voice: Voice, out: Path) -> tuple[WordTime, ...]:
        import numpy as np
        rate = voice.rate or 175
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
        rng = np.random.default_rng(seed)
        # A female variant (espeak-ng's "+f1" to "+f5") speaks an octave higher.
        octave = 2.0 if voice.voice and "+f" in voice.voice else 1.0
        syllable_ms = 60_000 / (rate * 1.5)
        gap = np.zeros(int(SAMPLE_RATE * syllable_ms * 0.25 / 1000))
        pieces: list[np.ndarray] = []
        words = []
        at = 0
        # Each word a tone per syllable or so; its time is that of its tones, as an
        # engine that reports word times would give it.
        for word in text.split() or [text]:
            start = at
            for _ in range(max(1, round((len(word) + 1) / 3.2))):
                tone = _syllable(rng, syllable_ms, octave)
                pieces.extend((tone, gap))
                at += len(tone) + len(gap)
            words.append(WordTime(word, round(start * 1000 / SAMPLE_RATE),
                                  round((at - len(gap)) * 1000 / SAMPLE_RATE)))
        pieces.append(np.zeros(int(SAMPLE_RATE * END_PAUSE_MS / 1000)))
        level = 0.25 * (voice.volume if voice.volume is not None else 1.0)
        samples = (np.concatenate(pieces) * level * 32767).astype("<i2")
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(samples.tobytes())
        return tuple(words)

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake", "Fake test voice (tones)", ("en",))]


def _syllable(rng: np.random.Generator, syllable_ms: float, octave: float) -> np.ndarray:
    import numpy as np
    n = int(SAMPLE_RATE * syllable_ms * rng.uniform(0.6, 1.0) / 1000)
    t = np.arange(n) / SAMPLE_RATE
    pitch = rng.uniform(110, 180) * octave
    envelope = np.sin(np.pi * np.arange(n) / n)
    # A formant-like partial near 2.5 kHz gives the tones speech's balance of
    # loudness (K-weighted) to level (RMS), as the audio checks measure both.
    tone: np.ndarray = (np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(4 * np.pi * pitch * t)
                        + 0.5 * np.sin(2 * np.pi * pitch * 16 * t)) * envelope
    return tone


register("fake", FakeEngine)
