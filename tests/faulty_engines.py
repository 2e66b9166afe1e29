"""Isolated engines that misbehave, for the tests of the synthesis workers' bounds.

They live in a module of their own, importable by name, because an isolated engine
runs in a spawned worker that imports the module defining it before creating it.
"""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

from audioguide.engines import VoiceInfo, register
from audioguide.model import Voice


class HangingEngine:
    """Never finishes an utterance, like an engine stuck on an unwritable file."""

    isolated = True

    def check(self) -> None:
        """Nothing to install."""

    def identity(self, voice: Voice) -> str:
        return "hanging 1"

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        time.sleep(3600)

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("hanging", "Never speaks", ("en",))]


class CrashingEngine(HangingEngine):
    """Ends its process in the middle of an utterance, like a segfault in the engine."""

    def identity(self, voice: Voice) -> str:
        return "crashing 1"

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        os._exit(139)


class SilentEngine(HangingEngine):
    """Writes a well-formed WAV file that holds no audio at all."""

    def identity(self, voice: Voice) -> str:
        return "silent 1"

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(22050)


register("hanging", HangingEngine)
register("silent", SilentEngine)
register("crashing", CrashingEngine)


class FullVolumeEngine(HangingEngine):
    """Writes into a volume with no space left, like any engine once the cache fills up."""

    isolated = False

    def identity(self, voice: Voice) -> str:
        return "full-volume 1"

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        raise OSError(28, "No space left on device", str(out))


register("full-volume", FullVolumeEngine)
