"""Quotations a listener can hear: quoted speech in its own voice (both halves of a quotation
split by its attribution), chapter headings that say where they are, and a disclosure that
names every voice."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import vttcheck
from audioguide.errors import ScriptError
from audioguide.quotes import quotation_ranges, runs
from audioguide.script import for_engine, parse_text
from conftest import manifest, render_fake
from readback import decode, pitch_hz

QUOTED = textwrap.dedent("""\
    ---
    title: "Quoted"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: fake"
    engine: fake
    voice: fake
    quotes:
      voice: fake+f3
      name: "a fake voice an octave higher"
    orientation: true
    ---

    ## First

    “Tears can have many origins, but tears are a form of release,” says Francis.
    “This release can stem from arousal.”

    The narrator speaks this whole sentence alone.
    A “so-called” scare quote stays with the narrator.

    ## Second

    If your partner cries, “open dialogue is crucial,” says Francis. That is all.
    """)


def _parse(text: str):
    return parse_text(text.encode(), Path("quoted.md"))


def test_a_quotation_split_by_its_attribution_keeps_its_voice_on_both_halves() -> None:
    """The quotation's two halves are the quote voice's, the attribution the narrator's."""
    sentences = _parse(QUOTED).chapters[0].sentences
    first, second = sentences[1], sentences[2]
    assert [(r.voice, r.text) for r in first.runs] == [
        ("quote", "“Tears can have many origins, but tears are a form of release,”"),
        ("narrator", "says Francis.")]
    assert [(r.voice, r.text) for r in second.runs] == [
        ("quote", "“This release can stem from arousal.”")]
    assert first.spoken == " ".join(r.spoken for r in first.runs)


def test_scare_quotes_and_plain_sentences_stay_with_the_narrator() -> None:
    """A quotation of fewer than three words is not speech; a sentence without one has no runs."""
    sentences = _parse(QUOTED).chapters[0].sentences
    assert sentences[3].runs == () and sentences[4].runs == ()
    assert quotation_ranges("a “so-called” thing", 3) == []
    assert quotation_ranges("a “so-called” thing", 1) == [(2, 13)]


def test_a_quotation_inside_a_sentence_makes_three_runs() -> None:
    """Narrator, quotation, narrator: the words around a quotation keep the narrator's voice."""
    sentence = _parse(QUOTED).chapters[1].sentences[1]
    assert [(r.voice, r.text) for r in sentence.runs] == [
        ("narrator", "If your partner cries,"), ("quote", "“open dialogue is crucial,”"),
        ("narrator", "says Francis.")]


@pytest.mark.parametrize(("text", "expected"), [
    ('He said "we will go there soon" and left.', [(8, 31)]),
    ("“It goes on to the end of the block", [(0, 35)]),
    ("«Nous partirons demain matin», dit-elle.", [(0, 29)]),
    ("„Wir fahren morgen früh“, sagte sie.", [(0, 24)]),
])
def test_quotation_marks_of_several_languages_and_an_unclosed_one(text, expected) -> None:
    """Straight, curly, guillemet and German marks; an unclosed quotation runs to the end."""
    assert quotation_ranges(text, 3) == expected


def test_punctuation_alone_joins_the_run_before_it() -> None:
    """A full stop after the closing mark is no run of its own."""
    text = "“One two three”."
    found = runs(text, 0, quotation_ranges(text, 3), lambda piece, a, b: piece)
    assert [(r.voice, r.text) for r in found] == [("quote", "“One two three”.")]


def test_orientation_says_the_chapter_place_and_keeps_the_written_title() -> None:
    """"Chapter 2 of 2." is spoken before the title; the title as written is unchanged."""
    chapter = _parse(QUOTED).chapters[1]
    assert chapter.title == "Second"
    assert chapter.heading.text == "Second"
    assert chapter.heading.spoken == "Chapter 2 of 2. Second"
    plain = _parse(QUOTED.replace("orientation: true\n", ""))
    assert plain.chapters[1].heading.spoken == "Second"


@pytest.mark.parametrize(("old", "new", "message", "line"), [
    ("  voice: fake+f3\n", "", "quotes needs a voice", 9),
    ("  voice: fake+f3\n", "  voice: fake+f3\n  colour: red\n", "quotes has unknown key 'colour'",
     11),
    ("  voice: fake+f3\n", "  voice: fake+f3\n  rate: 20\n", "quotes rate must be", 11),
    ("orientation: true\n", "orientation: yes please\n", "orientation must be true or false",
     12),
    ("language: en-US\n", "language: ja\n", "orientation can say the chapter's place only in",
     12),
], ids=["no voice", "unknown key", "bad rate", "not a boolean", "no wording for the language"])
def test_bad_quotes_and_orientation_are_errors_at_their_line(old, new, message, line) -> None:
    """Every mistake in `quotes:` or `orientation:` is one message naming its line."""
    with pytest.raises(ScriptError) as caught:
        _parse(QUOTED.replace(old, new))
    assert message in caught.value.message
    assert caught.value.line == line


def test_a_quote_voice_without_a_name_is_disclosed_by_its_voice() -> None:
    """The disclosure names every synthetic voice, the quote voice by its name if given."""
    script = _parse(QUOTED.replace('  name: "a fake voice an octave higher"\n', ""))
    assert script.disclosure == ("Synthetic voice: fake; quotations: a second synthetic voice "
                                 "(fake+f3)")


@pytest.fixture(scope="module")
def quoted_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("quoted")
    script = base / "quoted.md"
    script.write_text(QUOTED, encoding="utf-8")
    return render_fake(script, base / "audio", base / "cache").folder


def test_the_manifest_and_the_audio_show_each_voice_where_it_speaks(quoted_edition) -> None:
    """The manifest marks where the quote voice speaks, and the decoded book has the quote
    voice's higher register there and the narrator's elsewhere."""
    data = manifest(quoted_edition)
    sentences = [s for c in data["chapters"] for s in c["sentences"]]
    by_text = {s["text"]: s for s in sentences}
    first = by_text["“Tears can have many origins, but tears are a form of release,” says "
                    "Francis."]
    assert [v["voice"] for v in first["voices"]] == ["quote", "narrator"]
    assert first["start_ms"] <= first["voices"][0]["start_ms"] < first["voices"][0]["end_ms"] \
        <= first["voices"][1]["start_ms"] < first["voices"][1]["end_ms"] <= first["end_ms"]
    plain = by_text["The narrator speaks this whole sentence alone."]
    assert "voices" not in plain
    audio = decode(quoted_edition / "quoted.mp3")
    quote = pitch_hz(audio, first["voices"][0]["start_ms"], first["voices"][0]["end_ms"])
    narrator = pitch_hz(audio, plain["start_ms"], plain["end_ms"])
    attribution = pitch_hz(audio, first["voices"][1]["start_ms"], first["voices"][1]["end_ms"])
    assert quote > 1.6 * narrator and quote > 1.6 * attribution, (quote, narrator, attribution)
    assert data["quote_voice"] == "fake+f3"
    assert data["narrator"] == "Synthetic voice: fake; quotations: a fake voice an octave higher"


def test_text_outputs_keep_the_written_form(quoted_edition) -> None:
    """Captions show the quotation marks and the title as written, not the spoken heading."""
    cues = vttcheck.parse((quoted_edition / "captions.vtt").read_text(encoding="utf-8"))
    texts = [cue.text for cue in cues]
    assert "Second" in texts and not any("Chapter 2 of 2" in t for t in texts)
    assert "If your partner cries, “open dialogue is crucial,” says Francis." in texts
    page = (quoted_edition / "index.html").read_text(encoding="utf-8")
    assert "quotations: a fake voice an octave higher" in page


def test_with_another_engine_the_narrator_reads_the_quotations() -> None:
    """The quote voice is the script's engine's: read by another engine (--engine), the
    script has no runs and discloses the narrator alone."""
    script = _parse(QUOTED)
    assert for_engine(script, "fake") is script
    other = for_engine(script, "piper")
    # Its narrator line names fake's voice, so the edition names the engine it has.
    assert other.quotes is None and other.disclosure == "Synthetic voice: piper"
    assert all(s.runs == () for s in other.sentences())
    assert [s.text for s in other.sentences()] == [s.text for s in script.sentences()]
