"""Speak one sentence with a script's voice, rate and lexicon: a fix checked by ear in a second.

The sentence takes the render's own path: the script's lexicon and the same
normalization (speech.py), then narration through the engine, its worker and the
clip cache (narrate.py). Only the last step differs: the clip is copied to a WAV file
or played on the sound device.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from .engines import speech_rules
from .errors import MissingToolError, OutputError, UsageError
from .files import write_whole
from .model import Chapter, Pauses, Script, Sentence, Source, Voice
from .narrate import ClipCache, narrate
from .speech import MAX_UTTERANCE_CHARS, clean_text, speak


@dataclass(frozen=True)
class Said:
    """What was said: the spoken form and the length of its audio."""

    spoken: str
    duration_ms: int


def say(text: str, script: Script | None, engine: str | None, cache: Path,
        out: Path | None) -> Said:
    """Speak `text` as `script` would; write it to `out` (a WAV file), or play it when None."""
    if out is None and not has_sound_device():
        raise UsageError("this computer has no sound device; give -o out.wav to write the "
                         "sentence to a file")
    written = clean_text(text)
    if len(written) > MAX_UTTERANCE_CHARS:
        raise UsageError(f"say speaks one sentence of at most {MAX_UTTERANCE_CHARS} characters; "
                         "shorten the text")
    base = script or _bare_script()
    voice = replace(base.voice, engine=engine or base.voice.engine,
                    voice=base.voice.voice or base.language.lower())
    spoken, _ = speak(written, base.lexicon, base.language, rules=speech_rules(voice.engine))
    if not spoken:
        raise UsageError("the text has nothing speakable (only punctuation, symbols or emoji)")
    sentence = Sentence("c01s000", written, spoken, 1, 0, "paragraph", 0)
    one = replace(base, chapters=(Chapter(1, written, "say", 1, (sentence,)),))
    clips, _ = narrate(one, voice, ClipCache(cache), jobs=1)
    clip = clips[sentence.id]
    if out is None:
        _play(clip.path)
    else:
        _copy(clip.path, out)
    return Said(spoken, clip.duration_ms)


def _bare_script() -> Script:
    """The settings of a script that sets nothing: US English, no lexicon."""
    return Script(path=Path("say"), digest="", slug="say", title="say", author="",
                  source=Source(name=""), language="en-US", narrator="", description="",
                  content_note="", lexicon=(), pauses=Pauses(), voice=Voice(), chapters=())


def _copy(clip: Path, out: Path) -> None:
    """Copy the clip to `out` whole or not at all."""
    if out.is_dir():
        raise UsageError("is a folder; give a file name such as out.wav", path=out)
    write_whole(out, clip.read_bytes(), "the WAV file")


def has_sound_device() -> bool:
    """Whether this computer has somewhere to play sound (Linux: ALSA, PulseAudio, PipeWire)."""
    if not sys.platform.startswith("linux"):
        return True
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    sockets = [runtime / "pulse" / "native", runtime / "pipewire-0"]
    return (any(Path("/dev/snd").glob("pcmC*")) or bool(os.environ.get("PULSE_SERVER"))
            or any(s.exists() for s in sockets))


def _play(clip: Path) -> None:
    """Play the clip on the default sound device with ffplay (part of ffmpeg)."""
    player = shutil.which("ffplay")
    if player is None:
        raise MissingToolError("no player for the sound device (ffplay) is installed; "
                               "give -o out.wav to write the sentence to a file")
    done = subprocess.run([player, "-nodisp", "-autoexit", "-loglevel", "error", str(clip)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise OutputError("could not play on the sound device (is there one?); give -o out.wav "
                          "to write the sentence to a file")
