"""Each engine owns its spoken form: the shared normalization, then the engine's own
rules (speech.Rules), made when the script is read for the engine that narrates it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide import engines
from audioguide.cli import main
from audioguide.engines.fake import FakeEngine
from audioguide.errors import EngineError, ScriptError
from audioguide.model import EngineSettings, Rules
from audioguide.render import RenderOptions, read_for, voice_for
from audioguide.script import for_engine, parse_text
from audioguide.speech import ESPEAK_NG, PIPER, speak, to_speech
from test_plugins import keep_engines

# Written text: (espeak-ng's form, Piper's form).
CASES = {
    "Wait… what?": ("Wait... what?", "Wait, what?"),
    "It ends so…": ("It ends so...", "It ends so..."),
    "A note (see above) here.": ("A note (see above) here.", "A note, see above, here."),
    "A note (see above).": ("A note (see above).", "A note, see above."),
    "He said [sic] no.": ("He said (sic) no.", "He said, sic, no."),
    "Ask Sgt. Pepper now.": ("Ask Sgt. Pepper now.", "Ask Sgt Pepper now."),
    "By J. R. Tolkien now.": ("By J. R. Tolkien now.", "By J R Tolkien now."),
    # Dotted letters and decimal points are read whole by both: left as they are.
    "At 5 a.m. we met in the U.S. again.": ("At 5 a.m. we met in the U.S. again.",
                                            "At 5 a.m. we met in the U.S. again."),
    "It costs 3.5 dollars.": ("It costs 3.5 dollars.", "It costs 3.5 dollars."),
    # The shared rules run first, for both.
    "In 1987 (or so), Dr. Hood left.": ("In nineteen eighty-seven (or so), Doctor Hood left.",
                                        "In nineteen eighty-seven, or so, Doctor Hood left."),
}

SCRIPT = textwrap.dedent("""\
    ---
    title: "Rules"
    author: "A"
    source: "S"
    language: en-US
    narrator: "Synthetic voice"
    description: "D"
    engine: {engine}
    orientation: true
    lexicon:
      Sgt.: "[[s'A:dZ@nt]]"
    quotes:
      voice: en-us+f3
      name: "a second voice"
    ---

    ## One (the start)

    Wait… what? Ask Sgt. Pepper (the drummer) now. "This is said in a second voice," she said.
    """)


@pytest.mark.parametrize("written", list(CASES))
def test_each_engine_gets_its_own_form(written: str) -> None:
    espeak, piper = CASES[written]
    assert to_speech(written) == to_speech(written, rules=ESPEAK_NG) == espeak
    assert to_speech(written, rules=PIPER) == piper


def test_engine_rules_run_in_every_language_and_leave_the_lexicon_alone() -> None:
    assert to_speech("Attendez… quoi (vraiment) ?", language="fr", rules=PIPER) \
        == "Attendez, quoi, vraiment?"
    assert to_speech("Attendez… quoi (vraiment) ?", language="fr") \
        == "Attendez… quoi (vraiment)?"
    lexicon = (("Shadeen", "[[S@d'i:n]]"), ("JRR", "J. R. R."))
    assert to_speech("Ask Shadeen (or JRR) now.", lexicon, rules=PIPER) \
        == "Ask [[S@d'i:n]], or J. R. R., now."


def test_piper_changes_are_pauses_not_words() -> None:
    """`check` lists what a listener hears otherwise; a comma for a bracket is not that."""
    _, espeak = speak("A note (see above) here, Sgt. Pepper.")
    _, piper = speak("A note (see above) here, Sgt. Pepper.", rules=PIPER)
    assert espeak == piper == ()


def test_engines_name_their_rules() -> None:
    assert engines.speech_rules("pyttsx3") == ESPEAK_NG
    assert engines.speech_rules("fake") == ESPEAK_NG
    assert engines.speech_rules("piper") == PIPER
    # An unknown engine is reported where it is used; the text is still made.
    assert engines.speech_rules("no-such-engine") == ESPEAK_NG


class _BadRules(FakeEngine):
    speech = ("clause pauses",)


class _UnknownRule(FakeEngine):
    speech = Rules("mine", ("clause pauses", "shouting"))


class _OwnRules(FakeEngine):
    speech = Rules("mine", ("clause pauses",))


def test_an_engine_with_malformed_rules_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_engines(monkeypatch)
    engines.register("bad-rules", _BadRules)
    engines.register("unknown-rule", _UnknownRule)
    with pytest.raises(EngineError) as bad:
        engines.speech_rules("bad-rules")
    assert "'bad-rules'" in str(bad.value) and "Rules(name, extra)" in str(bad.value)
    with pytest.raises(EngineError) as unknown:
        engines.speech_rules("unknown-rule")
    assert "'shouting'" in str(unknown.value) and "clause pauses" in str(unknown.value)
    assert "\n" not in str(bad.value) + str(unknown.value)


def test_a_plugin_engine_brings_its_own_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_engines(monkeypatch)
    engines.register("own-rules", _OwnRules)
    script = for_engine(parse_text(SCRIPT.format(engine="fake").encode(), Path("r.md")),
                        "own-rules")
    said = [s.spoken for s in script.sentences()]
    assert "Wait, what?" in said and "Ask [[s'A:dZ@nt]] Pepper, the drummer, now." in said


def test_a_script_is_spoken_by_its_own_engines_rules() -> None:
    piper = parse_text(SCRIPT.format(engine="piper").encode(), Path("rules.md"))
    espeak = parse_text(SCRIPT.format(engine="pyttsx3").encode(), Path("rules.md"))
    assert piper.speech == PIPER and espeak.speech == ESPEAK_NG
    said = {s.text: s.spoken for s in piper.sentences()}
    assert said["Wait… what?"] == "Wait, what?"
    assert said["Ask Sgt. Pepper (the drummer) now."] \
        == "Ask [[s'A:dZ@nt]] Pepper, the drummer, now."
    # The orientation cue is the script's own, whatever the rules.
    assert said["One (the start)"] == "Chapter 1 of 1. One, the start"
    assert {s.text: s.spoken for s in espeak.sentences()}["One (the start)"] \
        == "Chapter 1 of 1. One (the start)"


def test_another_engine_makes_the_spoken_form_again() -> None:
    espeak = parse_text(SCRIPT.format(engine="pyttsx3").encode(), Path("rules.md"))
    piper = parse_text(SCRIPT.format(engine="piper").encode(), Path("rules.md"))
    assert for_engine(espeak, "pyttsx3") is espeak
    as_piper = for_engine(espeak, "piper")
    assert as_piper.speech == PIPER and as_piper.quotes is None
    # Read for Piper, the pyttsx3 script says what the Piper script says; the quotation
    # is the narrator's, one run: the quote voice belongs to the script's engine.
    quoted = "This is said in a second voice, she said."
    assert [s.spoken for s in as_piper.sentences()] == [
        quoted if s.runs else s.spoken for s in piper.sentences()]
    assert all(not s.runs for s in as_piper.sentences())
    back = for_engine(piper, "pyttsx3")
    assert back.speech == ESPEAK_NG and back.quotes is None
    assert [(s.text, s.spoken) for s in back.sentences()] == [
        (s.text, quoted if s.runs else s.spoken) for s in espeak.sentences()]
    # What `check` lists comes with the form: "…" read as "...", and the lexicon.
    assert [c.why for s in back.sentences() for c in s.changes] == ["symbol", "lexicon"]


def test_render_reads_the_script_for_its_engine(tmp_path: Path) -> None:
    path = tmp_path / "rules.md"
    path.write_text(SCRIPT.format(engine="pyttsx3"), encoding="utf-8")
    script, voice = read_for(path, RenderOptions(output=tmp_path / "audio", engine="piper"))
    assert voice.engine == "piper" and script.speech == PIPER
    assert "Wait, what?" in [s.spoken for s in script.sentences()]
    script, voice = read_for(path, RenderOptions(output=tmp_path / "audio"))
    assert voice.engine == "pyttsx3" and "Wait... what?" in [s.spoken for s in script.sentences()]


def test_check_shows_what_an_engine_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "rules.md"
    path.write_text(SCRIPT.format(engine="pyttsx3"), encoding="utf-8")
    runner = CliRunner()
    own = runner.invoke(main, ["check", "--spoken", str(path)])
    piper = runner.invoke(main, ["check", "--spoken", "--engine", "piper", str(path)])
    assert own.exit_code == piper.exit_code == 0, own.output + piper.output
    assert "Wait... what?" in own.output and "Wait, what?" in piper.output
    wrong = runner.invoke(main, ["check", "--engine", "no-such-engine", str(path)])
    assert wrong.exit_code == 2
    assert wrong.output.count("\n") == 1 and "unknown engine 'no-such-engine'" in wrong.output


@pytest.mark.piper
def test_piper_phonemizes_its_form_as_one_sentence_with_its_pauses() -> None:
    """Read back through Piper's own phonemizer: espeak-ng's form loses the pause of an
    ellipsis and a bracket and ends a sentence at "Sgt."; Piper's keeps them."""
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()

    def sentences(text: str) -> list[str]:
        return ["".join(s) for s in phonemizer.phonemize("en-us", text)]

    assert len(sentences(to_speech("Ask Sgt. Pepper now."))) == 2
    assert len(sentences(to_speech("Ask Sgt. Pepper now.", rules=PIPER))) == 1
    assert len(sentences(to_speech("By J. R. Tolkien now.", rules=PIPER))) == 1
    for written, pauses in (("Wait… what?", 1), ("A note (see above) here.", 2)):
        espeak, piper = sentences(to_speech(written)), sentences(to_speech(written, rules=PIPER))
        assert len(espeak) == len(piper) == 1 and "," not in espeak[0], espeak
        assert piper[0].count(",") == pauses, piper


ENGINES = """\
engines:
  piper:
    narrator: "Synthetic voice: Piper, Joe (US English)"
    voice: en_US-joe-medium
    rate: 150
"""


def _with(front: str, engine: str = "pyttsx3"):
    text = SCRIPT.format(engine=engine).replace("orientation: true\n",
                                                "orientation: true\n" + front)
    return parse_text(text.encode(), Path("rules.md"))


def test_another_engine_has_its_own_narrator_line_voice_and_rate(tmp_path: Path) -> None:
    """The narrator line names the voice listeners hear: an edition narrated by another
    engine (--engine) names that engine's voice, as the front matter's `engines:` gives it."""
    script = _with(ENGINES)
    assert script.settings_for("piper") == EngineSettings(
        "Synthetic voice: Piper, Joe (US English)", "en_US-joe-medium", 150)
    as_piper = for_engine(script, "piper")
    assert as_piper.narrator == as_piper.disclosure == "Synthetic voice: Piper, Joe (US English)"
    assert voice_for(script, RenderOptions(engine="piper")).voice == "en_US-joe-medium"
    assert voice_for(script, RenderOptions(engine="piper")).rate == 150
    assert voice_for(script, RenderOptions(engine="piper", voice="x", rate=200)).voice == "x"
    own = voice_for(script, RenderOptions())
    assert (own.engine, own.voice, own.rate) == ("pyttsx3", "en-us", None)
    # Without settings for it, the line names the engine, never a voice it does not hear;
    # the script's own voice name (an espeak-ng voice) is not passed to another engine.
    bare = parse_text(SCRIPT.format(engine="pyttsx3").replace(
        "narrator: \"Synthetic voice\"", "narrator: \"eSpeak NG\"\nvoice: en-us+m3").encode(),
        Path("rules.md"))
    assert for_engine(bare, "fake").disclosure == "Synthetic voice: fake"
    assert voice_for(bare, RenderOptions(engine="fake")).voice == "en-us"
    assert for_engine(bare, "pyttsx3").disclosure == "eSpeak NG; quotations: a second voice"


@pytest.mark.parametrize(("front", "line", "message"), [
    ("engines: piper\n", 10, "engines must be a mapping of engine name"),
    ("engines:\n  piper: fast\n", 11, "engines.piper must be a mapping of settings"),
    ("engines:\n  pyttsx3:\n    rate: 150\n", 11, "engines.pyttsx3 is the script's own engine"),
    ("engines:\n  piper:\n    speed: 2\n", 12, "engines.piper has unknown key 'speed'"),
    ("engines:\n  piper:\n    rate: fast\n", 12, "engines.piper.rate must be a whole number"),
    ("engines:\n  piper:\n    narrator: 5\n", 12, "engines.piper.narrator must be text"),
    ("engines:\n  piper:\n    volume: 3\n", 12, "engines.piper.volume must be a number"),
])
def test_engine_settings_errors_name_the_line(front: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        _with(front)
    assert raised.value.line == line and message in str(raised.value), str(raised.value)


MARKED = """\
---
title: "Marked"
author: "A"
source: "S"
language: en-US
narrator: "Synthetic voice: eSpeak NG"
description: "D"
engines:
  piper:
    narrator: "Synthetic voice: Piper"
---

## About

This edition is read by a synthetic voice.

<!-- engine: pyttsx3 -->
It is eSpeak NG, in two voices.

<!-- pause 2s -->

<!-- engine: piper, other -->
It is Piper, in one voice.

## End

The end.

<!-- engine: piper -->
Piper's last words.
"""


def test_a_paragraph_can_be_for_one_engine_only() -> None:
    """`<!-- engine: NAME -->` keeps the next paragraph for that engine's editions: an
    edition says what made it, in its text as in its metadata."""
    own = parse_text(MARKED.encode(), Path("marked.md"))
    piper = for_engine(own, "piper")
    assert [s.text for s in own.sentences()] == [
        "About", "This edition is read by a synthetic voice.", "It is eSpeak NG, in two voices.",
        "End", "The end."]
    assert [s.text for s in piper.sentences()] == [
        "About", "This edition is read by a synthetic voice.", "It is Piper, in one voice.",
        "End", "The end.", "Piper's last words."]
    # A pause directive after a left-out paragraph goes with it; the chapter's own pauses
    # fall on what is kept.
    pauses = own.pauses
    assert [s.pause_after_ms for s in own.sentences()] == [
        pauses.paragraph_ms, pauses.paragraph_ms, 2000, pauses.paragraph_ms, 0]
    assert [s.pause_after_ms for s in piper.sentences()] == [
        pauses.paragraph_ms, pauses.paragraph_ms, pauses.chapter_ms, pauses.paragraph_ms,
        pauses.paragraph_ms, 0]
    assert piper.narrator == "Synthetic voice: Piper" and own.narrator.endswith("eSpeak NG")
    assert [s.id for s in piper.sentences()][-1] == "c02s002"
    assert for_engine(own, "other").sentences()[2].text == "It is Piper, in one voice."


@pytest.mark.parametrize(("body", "line", "message"), [
    ("<!-- engine: -->\nText.\n", 15, "malformed engine directive"),
    ("<!-- engine: piper -->\n\n<!-- engine: fake -->\n\nText.\n", 17,
     "two engine directives in a row"),
    ("<!-- engine: piper -->\n\n<!-- pause 1s -->\n\nText.\n", 15,
     "must stand right before the paragraph"),
    ("Text.\n\n<!-- engine: piper -->\n\n## Two\n\nMore.\n", 17,
     "must stand right before the paragraph it marks, in the same chapter"),
    ("<!-- engine: piper -->\nOnly Piper's.\n", 13,
     "chapter 'One' has no text for the pyttsx3 edition"),
])
def test_engine_directive_errors_name_the_line(body: str, line: int, message: str) -> None:
    text = MARKED.split("## About")[0] + "## One\n\n" + body
    with pytest.raises(ScriptError) as raised:
        parse_text(text.encode(), Path("marked.md"))
    assert raised.value.line == line and message in str(raised.value), str(raised.value)
