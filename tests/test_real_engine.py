"""Tests through the real pyttsx3 + espeak-ng path, and of the bounds on its workers.

They are slower than the fake-engine tests but never skipped: without espeak-ng
they fail and say how to install it.
"""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import textwrap
import time
import wave
from pathlib import Path

import pytest
from mutagen.id3 import ID3

import faulty_engines  # noqa: F401  (registers the "hanging" and "crashing" engines)
from audioguide import engines, narrate
from audioguide.assembly import trim
from audioguide.errors import EngineError
from audioguide.narrate import clip_key
from audioguide.render import RenderOptions, RenderResult, render, voice_for
from audioguide.script import parse_script
from readback import decoded_ms, loudness_lufs, probed_chapters, tree_digests, true_peak_dbtp
from test_audio_core import PAUSES_SCRIPT, check_lengths, check_masters, check_pauses

pytestmark = pytest.mark.real_engine

TINY_SCRIPT = textwrap.dedent("""\
    ---
    title: "A Tiny Real Edition"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: eSpeak NG, US English"
    rate: 175
    lexicon:
      Shadeen: "[[S@d'i:n]]"
    ---

    ## The start

    Shadeen Francis spoke first. This is a short sentence.

    ## The end

    The book ends here.
    """)
FORMATS = ("chapters", "mp3", "m4b")


def require_espeak() -> None:
    """Fail, never skip, when the real engine cannot run here."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed, so the real engine cannot be tested; "
                    "run ./dev.sh test, which installs it")
    try:
        import pyttsx3  # noqa: F401
    except ImportError:
        pytest.fail("pyttsx3 is not installed; run ./dev.sh test, which installs it")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, RenderResult]:
    """The tiny script rendered once with the real engine: (script, cache, result)."""
    require_espeak()
    base = tmp_path_factory.mktemp("real")
    script = base / "tiny.md"
    script.write_text(TINY_SCRIPT, encoding="utf-8")
    cache = base / "cache"
    result = render(script, RenderOptions(output=base / "audio", formats=FORMATS, cache=cache,
                                          jobs=2))
    return script, cache, result


def test_every_clip_is_a_mono_22050_wav(tiny: tuple[Path, Path, RenderResult]) -> None:
    """Each synthesized clip is a complete, non-empty 16-bit mono 22050 Hz WAV file."""
    script, cache, result = tiny
    clips = sorted((cache / "clips").rglob("*.wav"))
    spoken = {s.spoken for s in parse_script(script).sentences()}
    assert result.stats is not None
    assert len(clips) == result.stats.synthesized == len(spoken) == 5
    for clip in clips:
        with wave.open(str(clip), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
            frames = wav.getnframes()
            audio = wav.readframes(frames)
        assert frames > 22050 // 10
        assert len(audio) == 2 * frames
        assert any(audio), clip  # not silence


def test_chapters_read_back(tiny: tuple[Path, Path, RenderResult]) -> None:
    """The M4B and MP3 carry the two chapters, starting at 0 and ending at the decoded end."""
    _, _, result = tiny
    for name in ("tiny.m4b", "tiny.mp3"):
        path = result.folder / name
        chapters = probed_chapters(path)
        assert [title for title, _, _ in chapters] == ["The start", "The end"]
        assert chapters[0][1] == 0
        assert abs(chapters[0][2] - chapters[1][1]) <= 1
        assert abs(chapters[1][2] - decoded_ms(path)) <= 50
    chaps = sorted(ID3(result.folder / "tiny.mp3").getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["The start", "The end"]


def test_loudness_is_on_target(tiny: tuple[Path, Path, RenderResult]) -> None:
    """Real speech, encoded, measures -19 LUFS within 1 LU with a true peak at most -1 dBTP."""
    _, _, result = tiny
    for name in ("tiny.m4b", "tiny.mp3"):
        path = result.folder / name
        assert abs(loudness_lufs(path) - (-19.0)) <= 1.0, name
        assert true_peak_dbtp(path) <= -1.0, name


def test_second_render_synthesizes_nothing(tiny: tuple[Path, Path, RenderResult],
                                           tmp_path: Path) -> None:
    """A second render with the same cache synthesizes nothing and writes the same files."""
    script, cache, first = tiny
    again = render(script, RenderOptions(output=tmp_path / "audio", formats=FORMATS,
                                         cache=cache, jobs=2))
    assert again.stats is not None and again.stats.synthesized == 0
    assert tree_digests(again.folder) == tree_digests(first.folder)


def test_phoneme_lexicon_entry_is_read_as_phonemes(tiny: tuple[Path, Path, RenderResult],
                                                   tmp_path: Path) -> None:
    """A lexicon entry in espeak-ng phonemes ([[...]]) is spoken as those sounds, not spelled."""
    script, cache, _ = tiny
    parsed = parse_script(script)
    sentence = next(s for s in parsed.sentences() if "Shadeen" in s.text)
    assert sentence.spoken == "[[S@d'i:n]] Francis spoke first."
    voice = voice_for(parsed, RenderOptions(cache=cache))
    key = clip_key(engines.create(voice.engine).identity(voice), sentence.spoken)
    with wave.open(str(cache / "clips" / key[:2] / f"{key}.wav"), "rb") as wav:
        clip_s = wav.getnframes() / wav.getframerate()
    # espeak-ng's own command line reads [[...]] as phonemes: the same sounds, the same
    # length. Read as text, the brackets and letters take about a quarter longer at least.
    reference = tmp_path / "reference.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", "-w", str(reference),
                    sentence.spoken], check=True, capture_output=True)
    trim(reference)  # as every cached clip is: its speech and 20 ms of quiet each side
    with wave.open(str(reference), "rb") as wav:
        reference_s = wav.getnframes() / wav.getframerate()
    assert abs(clip_s - reference_s) <= 0.05 * reference_s


def test_voices_lists_en_us() -> None:
    """`audioguide voices` lists an en-us voice."""
    require_espeak()
    result = subprocess.run([sys.executable, "-m", "audioguide.cli", "voices"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    languages = [line.split("\t")[1] for line in result.stdout.splitlines()]
    assert any("en-us" in field.lower().split(", ") for field in languages)


# ---------------------------------------------------------------------------
# Bounds on the synthesis workers (engines from faulty_engines, run in spawned workers)
# ---------------------------------------------------------------------------


def _render_with(engine: str, tmp_path: Path) -> tuple[Path, EngineError, float]:
    script = tmp_path / "tiny.md"
    script.write_text(TINY_SCRIPT, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        render(script, RenderOptions(output=tmp_path / "audio", engine=engine, formats=("mp3",),
                                     cache=tmp_path / "cache", jobs=1))
    return script, caught.value, time.monotonic() - started


def test_hanging_engine_is_stopped_by_the_timeout(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine that never finishes is killed after the timeout, tried once more, reported."""
    # AUDIOGUIDE_SYNTH_TIMEOUT is read when audioguide.narrate is imported; set its value.
    monkeypatch.setattr(narrate, "DEFAULT_TIMEOUT_S", 1.0)
    script, error, seconds = _render_with("hanging", tmp_path)
    message = error.format()
    assert "did not finish within" in message
    assert message.startswith(f"{script}:12: could not synthesize 'The start'")
    assert "\n" not in message
    assert seconds < 30
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "audio" / "tiny").exists()
    assert not list((tmp_path / "audio").glob(".tiny.staging-*"))
    assert not list((tmp_path / "cache").rglob("*.wav"))


def test_crashing_engine_is_reported(tmp_path: Path) -> None:
    """An engine whose process dies mid-utterance is retried once, then reported in one line."""
    script, error, seconds = _render_with("crashing", tmp_path)
    message = error.format()
    assert message.startswith(f"{script}:12: could not synthesize 'The start'")
    assert "the engine process died (exit code 139)" in message
    assert seconds < 30
    assert multiprocessing.active_children() == []
    assert not list((tmp_path / "audio").glob(".tiny.staging-*"))



def test_two_cold_real_renders_are_byte_identical(tmp_path: Path) -> None:
    """espeak-ng through parallel workers gives the same bytes in two cold renders."""
    require_espeak()
    script = tmp_path / "tiny.md"
    script.write_text(TINY_SCRIPT + "\nA third sentence, so each worker speaks twice or more. "
                      "And a fourth one here.\n", encoding="utf-8")
    results = [render(script, RenderOptions(output=tmp_path / f"audio{i}", formats=FORMATS,
                                            cache=tmp_path / f"cache{i}", jobs=2))
               for i in (1, 2)]
    assert all(r.stats is not None and r.stats.synthesized == 7 for r in results)
    assert tree_digests(results[0].folder) == tree_digests(results[1].folder)


@pytest.fixture(scope="module")
def real_pauses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The pause script (every kind of silence) rendered through pyttsx3 and espeak-ng."""
    require_espeak()
    base = tmp_path_factory.mktemp("real-pauses")
    script = base / "pauses.md"
    script.write_text(PAUSES_SCRIPT, encoding="utf-8")
    result = render(script, RenderOptions(output=base / "audio", cache=base / "cache", jobs=2,
                                          formats=("chapters", "mp3", "m4b")))
    return result.folder, script


def test_real_silences_are_the_scripts(real_pauses: tuple[Path, Path]) -> None:
    """With espeak-ng's own silences trimmed, every pause the script sets measures within
    40 ms of it in the decoded MP3 and M4B."""
    check_pauses(*real_pauses)


def test_real_masters_pass_acx_checks(real_pauses: tuple[Path, Path]) -> None:
    """Every real-voice file passes the loudness, peak, RMS, floor and room-tone checks."""
    check_masters(real_pauses[0])


def test_real_lengths_are_exact(real_pauses: tuple[Path, Path]) -> None:
    """Every reader gets the real-voice files' lengths from their headers."""
    check_lengths(real_pauses[0])
