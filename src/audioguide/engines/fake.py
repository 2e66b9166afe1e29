"""A deterministic engine for fast tests: speech-like tones, no TTS installed.

Its clips have the level and rhythm of speech (a voiced tone per syllable with
short gaps, and an end pause like espeak-ng's) so that mastering and loudness
behave as with the real engine, while taking microseconds.
"""

from __future__ import annotations

import hashlib
import wave
from pathlib import Path

import numpy as np

from ..model import Voice
from . import VoiceInfo, register

SAMPLE_RATE = 22050
END_PAUSE_MS = 230


class FakeEngine:
    """Writes a tone sequence whose length follows the text and the rate."""

    isolated = False
    version = "2"

    def check(self) -> None:
        """The fake engine needs nothing installed."""

    def identity(self, voice: Voice) -> str:
        return f"fake {self.version} voice={voice.voice} rate={voice.rate} volume={voice.volume}"

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        rate = voice.rate or 175
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
        rng = np.random.default_rng(seed)
        syllables = max(1, round(len(text) / 3.2))
        syllable_ms = 60_000 / (rate * 1.5)
        pieces = []
        for _ in range(syllables):
            n = int(SAMPLE_RATE * syllable_ms * rng.uniform(0.6, 1.0) / 1000)
            t = np.arange(n) / SAMPLE_RATE
            pitch = rng.uniform(110, 180)
            envelope = np.sin(np.pi * np.arange(n) / n)
            # A formant-like partial near 2.5 kHz gives the tones speech's balance of
            # loudness (K-weighted) to level (RMS), as the audio checks measure both.
            tone = (np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(4 * np.pi * pitch * t)
                    + 0.5 * np.sin(2 * np.pi * pitch * 16 * t)) * envelope
            pieces.append(tone)
            pieces.append(np.zeros(int(SAMPLE_RATE * syllable_ms * 0.25 / 1000)))
        pieces.append(np.zeros(int(SAMPLE_RATE * END_PAUSE_MS / 1000)))
        level = 0.25 * (voice.volume if voice.volume is not None else 1.0)
        samples = (np.concatenate(pieces) * level * 32767).astype("<i2")
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(samples.tobytes())

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake", "Fake test voice (tones)", ("en",))]


register("fake", FakeEngine)
