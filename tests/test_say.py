"""`audioguide say`: one sentence through the script's lexicon, normalization and engine."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

import audioguide.say
from audioguide.cli import main
from conftest import SMALL_SCRIPT


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """The small test script, whose lexicon says LMFT as 'L M F T'."""
    path = tmp_path / "small.md"
    path.write_text(SMALL_SCRIPT, encoding="utf-8")
    return path


def _wav_ms(path: Path) -> int:
    with wave.open(str(path)) as wav:
        return round(wav.getnframes() * 1000 / wav.getframerate())


def test_say_writes_the_sentence_as_the_script_speaks_it(script: Path, tmp_path: Path) -> None:
    """The lexicon and the normalization apply; the WAV holds the engine's clip."""
    out = tmp_path / "out.wav"
    result = run("say", "Dr. Lee, LMFT, paid $5.99 in 1987.", "--script", script, "--engine",
                 "fake", "-o", out, "--cache", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    ms = _wav_ms(out)
    assert result.stdout == ("spoken: Doctor Lee, L M F T, paid 5 dollars 99 cents in nineteen "
                             f"eighty-seven.\n{out}: {ms / 1000:.1f} s\n")
    assert ms > 1000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_without_a_script_say_uses_plain_english(tmp_path: Path) -> None:
    """No script: US English rules and no lexicon."""
    out = tmp_path / "out.wav"
    result = run("say", "LMFT", "--engine", "fake", "-o", out, "--cache", tmp_path / "cache")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "spoken: LMFT"


@pytest.mark.parametrize(("args", "message"), [
    (("\U0001f642 !",), "the text has nothing speakable (only punctuation, symbols or emoji)"),
    (("word " * 300,), "say speaks one sentence of at most 1000 characters; shorten the text"),
    (("Hi.", "--script", "missing.md"), "missing.md: no such script; check the path"),
    (("Hi.", "--engine", "nope"), "unknown engine 'nope'; choose one of: "),
])
def test_say_refuses_with_one_line(args: tuple[str, ...], message: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to speak, too much, a missing script or engine: exit 2, one line, no file."""
    monkeypatch.chdir(tmp_path)
    result = run("say", *args, "-o", "out.wav", "--cache", tmp_path / "cache")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"audioguide: error: {message}")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert not (tmp_path / "out.wav").exists()


def test_without_a_sound_device_say_asks_for_a_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No -o and no sound device: exit 2 before any synthesis."""
    monkeypatch.setattr(audioguide.say, "has_sound_device", lambda: False)
    result = run("say", "Hello.", "--engine", "fake", "--cache", tmp_path / "cache")
    assert result.exit_code == 2
    assert result.stderr == ("audioguide: error: this computer has no sound device; give -o "
                             "out.wav to write the sentence to a file\n")
    assert not (tmp_path / "cache").exists()


@pytest.mark.real_engine
def test_say_with_espeak_writes_speech(script: Path, tmp_path: Path) -> None:
    """With the real engine the WAV decodes to about a second of audible speech."""
    out = tmp_path / "out.wav"
    result = run("say", "Hello from the narrator.", "--script", script, "-o", out,
                 "--cache", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=codec_name,channels", "-of", "csv=p=0", str(out)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert probe == "pcm_s16le,1"
    with wave.open(str(out)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.8 < seconds < 4
    assert np.sqrt(np.mean(samples.astype(float) ** 2)) > 300
