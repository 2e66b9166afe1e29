"""pyttsx3 behind the Engine protocol (espeak-ng on Linux, SAPI5, NSSpeechSynthesizer).

pyttsx3 on Linux needs care: runAndWait() can return before the file is written
or cancel the utterance it starts, a second engine in a process steals the first
one's callback, it hangs after fork, and it calls exit() inside init() when
espeak-ng data is missing. So audioguide runs it isolated, one engine per spawned
worker, probes espeak-ng in a child process before init(), sets every voice
property itself, waits for the finished-utterance event and espeak-ng's
Synchronize(), and checks every file.

espeak-ng carries state from one utterance to the next, so a clip depends on what
its worker spoke before it; narrate.py gives each fresh worker a fixed run of
sentences, which makes a cold render reproducible.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
import threading
import wave
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import EngineError, MissingToolError, UsageError
from ..model import Voice, WordTime
from . import VoiceInfo, register

INSTALL_HINT = "install it with: sudo apt-get install espeak-ng  (or run ./dev.sh render)"
UTTERANCE_TIMEOUT_S = 60.0
DEFAULT_RATE = 175  # words per minute: espeak-ng's own default


@cache
def espeak_version() -> str:
    """The espeak-ng version string, or '' when the CLI is not installed."""
    exe = shutil.which("espeak-ng")
    if not exe:
        return ""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    found = re.search(r"text-to-speech:\s*(\S+)", out.stdout)
    return found.group(1) if found else out.stdout.strip()[:40]


def _pyttsx3_version() -> str:
    from importlib.metadata import version

    return version("pyttsx3")


class Pyttsx3Engine:
    """The platform's speech engine through pyttsx3, driven one utterance at a time."""

    isolated = True

    def __init__(self) -> None:
        self._engine: Any = None
        self._finished = threading.Event()
        self._errors: list[str] = []
        self._voice_ids: dict[str, str] = {}
        self._applied: Voice | None = None
        self._tap: Any = None

    def check(self) -> None:
        if not sys.platform.startswith("linux"):
            return
        exe = shutil.which("espeak-ng")
        if not exe:
            raise MissingToolError(f"espeak-ng is not installed; {INSTALL_HINT}")
        # pyttsx3 calls exit(1) inside init() when espeak-ng's data is missing, so ask the CLI
        # first, in a child process, where a failure cannot end this one.
        try:
            probe = subprocess.run([exe, "-q", "x"], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise MissingToolError(
                f"espeak-ng did not answer within 30 s; {INSTALL_HINT}") from None
        if probe.returncode != 0:
            detail = (probe.stderr or probe.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MissingToolError(f"espeak-ng does not work ({detail[0]}); reinstall it: "
                                   "sudo apt-get install --reinstall espeak-ng espeak-ng-data")
        try:
            import pyttsx3  # noqa: F401
        except ImportError as exc:
            raise MissingToolError(f"pyttsx3 cannot be imported ({exc}); run ./dev.sh render") \
                from None

    def identity(self, voice: Voice) -> str:
        return (f"pyttsx3 {_pyttsx3_version()} espeak-ng {espeak_version()} "
                f"voice={voice.voice} rate={voice.rate} volume={voice.volume}")

    def _init(self) -> Any:
        if self._engine is None:
            import pyttsx3

            linux = sys.platform.startswith("linux")
            if linux:
                _enable_phoneme_input()
                _stop_only_while_speaking()
            engine = pyttsx3.init("espeak" if linux else None)
            if linux:
                from .espeak_words import WordTap

                self._tap = WordTap(engine)
            engine.connect("finished-utterance", self._on_finished)
            engine.connect("error", lambda name, exception: self._errors.append(str(exception)))
            for info in engine.getProperty("voices"):
                self._voice_ids[info.id] = info.id
                self._voice_ids.setdefault(info.id.rsplit("/", 1)[-1], info.id)
                for language in info.languages or []:
                    if isinstance(language, bytes):
                        language = language.decode("ascii", "ignore").lstrip("\x05")
                    self._voice_ids.setdefault(str(language).lower(), info.id)
            self._engine = engine
        return self._engine

    def _on_finished(self, name: Any, completed: bool) -> None:
        if not completed:
            self._errors.append("the utterance was cancelled")
        self._finished.set()

    def _apply(self, engine: Any, voice: Voice) -> None:
        if voice == self._applied:
            return
        if voice.voice:
            engine.setProperty("voice", self._voice_id(voice.voice))
        # Every property is set, defaults included: whether pyttsx3's own defaults reach
        # espeak-ng before the first utterance is a race, and lost, the first clips of a
        # worker came out at another rate.
        engine.setProperty("rate", voice.rate or DEFAULT_RATE)
        engine.setProperty("volume", voice.volume if voice.volume is not None else 1.0)
        self._applied = voice

    def check_voice(self, voice: Voice) -> None:
        """Refuse at once, before any worker starts, a variant espeak-ng does not have."""
        if voice.voice and "+" in voice.voice:
            _check_variant(voice.voice.partition("+")[2])

    def _voice_id(self, name: str) -> str:
        """The engine's id for a voice id, a voice name or a language (en-US falls back to
        en), with an espeak-ng variant after a plus sign (en-us+f3) kept on it."""
        name, plus, variant = name.partition("+")
        if plus:
            _check_variant(variant)
        lowered = name.lower()
        for candidate in (name, lowered, lowered.split("-")[0]):
            if candidate in self._voice_ids:
                return self._voice_ids[candidate] + plus + variant
        raise UsageError(f"unknown voice {name!r}; `audioguide voices` lists them")

    def synthesize(self, text: str, voice: Voice, out: Path) -> tuple[WordTime, ...] | None:
        engine = self._init()
        self._apply(engine, voice)
        self._errors.clear()
        self._finished.clear()
        if self._tap is not None:
            self._tap.reset()
        # pyttsx3 prints "Audio saved to ..." for every file.
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(text, str(out))
            engine.runAndWait()
            if not self._finished.wait(UTTERANCE_TIMEOUT_S):
                raise EngineError(f"no finished-utterance event within {UTTERANCE_TIMEOUT_S:.0f} s")
            _synchronize()
        if self._errors:
            raise EngineError(f"the engine reported: {self._errors[0]}")
        _check_wav(out)
        if self._tap is None:
            return None
        return _words(text, self._tap.events, out)

    def voices(self) -> list[VoiceInfo]:
        engine = self._init()
        result = []
        for info in engine.getProperty("voices"):
            languages = tuple(
                lang.decode("ascii", "ignore").lstrip("\x05") if isinstance(lang, bytes)
                else str(lang) for lang in (info.languages or [])
            )
            result.append(VoiceInfo(info.id, info.name, languages))
        return result


@cache
def espeak_variants() -> frozenset[str]:
    """espeak-ng's voice variants (f3, Alex, klatt...), as `espeak-ng --voices=variant`
    lists their files; empty where espeak-ng is not the engine."""
    exe = shutil.which("espeak-ng") if sys.platform.startswith("linux") else None
    if exe is None:
        return frozenset()
    listed = subprocess.run([exe, "--voices=variant"], capture_output=True, text=True,
                            timeout=30).stdout
    return frozenset(line.split()[4].removeprefix("!v/") for line in listed.splitlines()[1:]
                     if len(line.split()) >= 5)


def _check_variant(variant: str) -> None:
    """A variant espeak-ng does not have would be ignored without a word (the plain voice
    speaks instead): refuse it, naming the close ones (names are case-sensitive)."""
    known = espeak_variants()
    if not known:
        raise UsageError(f"voice variants (+{variant}) are espeak-ng's; this system's speech "
                         "engine has none")
    if variant not in known:
        close = sorted(v for v in known if v.lower() == variant.lower()) or ["f1", "f3", "m3"]
        raise UsageError(f"espeak-ng has no voice variant {variant!r} (names are case-"
                         f"sensitive; try {', '.join(close)}); `espeak-ng --voices=variant` "
                         "lists them")


def _enable_phoneme_input() -> None:
    """Let lexicon entries use espeak-ng phonemes in [[...]].

    pyttsx3 calls espeak_Synth without the PHONEMES flag, so [[...]] would be read
    out letter by letter. Authors' own text can never carry [[ (speech.py breaks
    it up), so only the lexicon reaches this.
    """
    from pyttsx3.drivers import _espeak

    if getattr(_espeak.Synth, "audioguide_phonemes", False):
        return
    original = _espeak.Synth

    def synth(text: Any, *args: Any, flags: int = 0, **kwargs: Any) -> Any:
        return original(text, *args, flags=flags | _espeak.PHONEMES, **kwargs)

    synth.audioguide_phonemes = True  # type: ignore[attr-defined]
    _espeak.Synth = synth


def _stop_only_while_speaking() -> None:
    """Keep runAndWait() from cancelling the utterance it is about to start.

    runAndWait() first ends the previous loop, which calls the driver's stop(); when
    espeak-ng still reports itself busy from the previous utterance, stop() flags a
    cancel that the new loop then carries out on the new utterance, and the file comes
    out empty. audioguide waits for every utterance to finish, so there is never
    anything of its own to stop there.
    """
    from pyttsx3.drivers.espeak import EspeakDriver

    original = EspeakDriver.stop
    if getattr(original, "audioguide_patched", False):
        return

    def stop(self: Any) -> None:
        if self._speaking:
            original(self)

    stop.audioguide_patched = True  # type: ignore[attr-defined]
    EspeakDriver.stop = stop


def _synchronize() -> None:
    if sys.platform.startswith("linux"):
        from pyttsx3.drivers import _espeak

        _espeak.Synchronize()


def _words(text: str, events: list[Any], path: Path) -> tuple[WordTime, ...]:
    """The word times of the utterance just written to `path`."""
    import numpy as np

    from .espeak_words import word_times

    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return word_times(text, events, pcm, rate)


def _check_wav(path: Path) -> None:
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.getnframes()
    except (OSError, EOFError, wave.Error) as exc:
        raise EngineError(f"the engine wrote no usable audio ({exc})") from None
    if frames == 0:
        raise EngineError("the engine wrote an empty file")


register("pyttsx3", Pyttsx3Engine)
