"""Tests for audioguide.script: each bad script is one clear error, each good one a sound model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audioguide.errors import ScriptError
from audioguide.model import Script
from audioguide.script import KNOWN_KEYS, parse_script, parse_text
from audioguide.speech import MAX_UTTERANCE_CHARS

TESTS = Path(__file__).resolve().parent
BAD = TESTS / "corpus" / "bad"
GOOD = TESTS / "corpus" / "good"
ARTICLE = TESTS.parent / "script" / "crying-during-sex.md"
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

# Each bad script: the line the error must name and a fragment saying what to fix.
BAD_SCRIPTS: dict[str, tuple[int, str]] = {
    "malformed-yaml-colon.md": (6, "quote any value that contains ': '"),
    "malformed-yaml-unclosed-quote.md": (6, "never closed"),
    "front-matter-not-mapping.md": (2, "must be a mapping of keys to values"),
    "title-not-text.md": (2, "title must be text; put it in quotes"),
    "rate-not-number.md": (7, "rate must be a whole number of words per minute, 80 to 450"),
    "volume-out-of-range.md": (7, "volume must be a number above 0 and at most 1"),
    "unknown-key.md": (7, "unknown front matter key 'colour'; known keys: author"),
    "missing-title.md": (1, "front matter needs title"),
    "missing-author.md": (1, "front matter needs author (or byline)"),
    "missing-source.md": (1, "front matter needs source"),
    "bad-language.md": (5, "is not a BCP 47 tag such as en-US"),
    "empty.md": (1, "the script is empty; it needs front matter and at least one ## chapter"),
    "no-front-matter.md": (1, "must start with YAML front matter between two '---' lines"),
    "unclosed-front-matter.md": (1, "front matter is not closed; add a '---' line"),
    "no-chapters.md": (8, "no chapters; each chapter starts with '## Title'"),
    "empty-chapter.md": (13, "chapter 'Two' has no text; add some or remove the heading"),
    "duplicate-titles.md": (17, "'PART ONE' is already used at line 9; titles must be unique"),
    "text-before-first-chapter.md": (9, "text before the first chapter; start the body with"),
    "h1-heading.md": (13, "# headings are not used; chapters are '## Title'"),
    "h3-heading.md": (13, "### headings are not used; chapters are '## Title'"),
    "pause-not-a-length.md": (13, "malformed pause directive '<!-- pause soon -->'; write"),
    "pause-too-long.md": (13, "malformed pause directive '<!-- pause 99s -->'; write"),
    "bad-pause-in-front-matter.md": (9, "pause paragraph must be a length such as 250ms"),
    "lexicon-empty-spoken.md": (9, "lexicon entry 'CST' has an empty spoken form"),
    "lexicon-recursive.md": (9, "recursive ('NYC' -> 'NYC'): a spoken form must not contain"),
    "lexicon-tagged-key.md": (9, "lexicon entry True must map text to text; remove the tag"),
    "not-utf8.md": (13, "is not UTF-8 text; save it as UTF-8"),
    "nul-byte.md": (13, "contains a NUL character; remove it"),
    "raw-html.md": (13, "raw HTML is not spoken; use Markdown"),
    "inline-html.md": (13, "raw HTML <div> is not spoken; use Markdown"),
    "unclosed-script.md": (13, "<script> is never closed, so the rest of the paragraph"),
    "inline-pause.md": (13, "a pause directive must be on a line of its own"),
    "code-block.md": (13, "code blocks are not spoken; write the text as a paragraph"),
    "indented-code-block.md": (13, "code blocks are not spoken; write the text as a paragraph"),
    "content-note-missing-chapter.md": (7, "content_note names a chapter 'Content note' that"),
    "control-character-in-front-matter.md": (2, "control character U+0007; remove it"),
    "nesting-too-deep.md": (13, "nesting too deep; flatten the lists and block quotes"),
    "duplicate-titles-bidi.md": (13, "'Payment' is already used at line 9; titles must be"),
}

VALID_FRONT_MATTER = """\
---
title: "A Test Script"
author: "Test Author"
source: "Test Publication"
language: en-US
narrator: "Synthetic voice: test engine"
---
"""


def _error(path: Path) -> ScriptError:
    with pytest.raises(ScriptError) as caught:
        parse_script(path)
    return caught.value


def _titles_in(path: Path) -> list[str]:
    """The `##` headings of a script file, read with a plain regular expression."""
    text = path.read_text(encoding="utf-8-sig")
    return [m.group(1).strip() for m in re.finditer(r"^## (.+?)(?: #+)?\s*$", text, re.M)]


def check_model(script: Script) -> None:
    """Invariants every parsed script holds."""
    ids = [s.id for s in script.sentences()]
    assert len(ids) == len(set(ids))
    for number, chapter in enumerate(script.chapters, start=1):
        assert chapter.number == number
        assert chapter.heading is chapter.sentences[0]
        assert chapter.heading.kind == "heading"
        assert chapter.heading.text == chapter.title
        assert len(chapter.sentences) >= 2
        assert chapter.heading.spoken.strip()
        for sentence in chapter.sentences:
            # Only text with nothing to speak (emoji, punctuation) has no spoken form.
            assert sentence.spoken.strip() or not re.search(r"\w", sentence.text)
            assert len(sentence.spoken) <= MAX_UTTERANCE_CHARS
            assert sentence.pause_after_ms >= 0
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", sentence.text + sentence.spoken)
    assert script.chapters[-1].sentences[-1].pause_after_ms == 0
    slugs = [c.slug for c in script.chapters]
    assert len(slugs) == len(set(slugs))
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) and len(slug) <= 60, slug


def _written_words(raw: bytes) -> set[str]:
    """The words of a script's body, read with regular expressions instead of markdown-it.

    Comments, link destinations and reference definitions are not text; everything else is.
    """
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    body = text.split("\n---\n", 1)[1]
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    body = re.sub(r"\]\([^)]*\)", "]", body)
    body = re.sub(r"^ {0,3}\[[^\]]+\]:.*$", " ", body, flags=re.M)
    return {word.casefold() for word in re.findall(r"[^\W\d_]{2,}", body)}


def check_nothing_dropped(raw: bytes, script: Script) -> None:
    """Every word written in the body reaches a sentence of the parsed script."""
    read = {word.casefold() for s in script.sentences()
            for word in re.findall(r"[^\W\d_]{2,}", s.text)}
    assert _written_words(raw) <= read, sorted(_written_words(raw) - read)


@pytest.mark.parametrize("path", [*sorted(GOOD.glob("*.md")), *sorted(ARTICLE.parent.glob("*.md"))],
                         ids=lambda p: p.name)
def test_every_written_word_reaches_a_sentence(path: Path) -> None:
    """No text of an accepted script, however deeply nested, is dropped by the parser."""
    check_nothing_dropped(path.read_bytes(), parse_script(path))


def test_corpus_has_every_case() -> None:
    """Every file in the bad corpus has an expected error, and every expected error a file."""
    assert {p.name for p in BAD.iterdir() if p.suffix == ".md"} == set(BAD_SCRIPTS)


@pytest.mark.parametrize(("name", "line", "fragment"),
                         [(name, *expected) for name, expected in BAD_SCRIPTS.items()])
def test_bad_script_is_one_line_naming_file_and_line(name: str, line: int, fragment: str) -> None:
    """A malformed script raises ScriptError: one line, `file:line:`, saying what to fix."""
    path = BAD / name
    error = _error(path)
    message = error.format()
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message
    assert error.exit_code == 2


def test_missing_path_is_a_script_error(tmp_path: Path) -> None:
    """A path that does not exist is a one-line ScriptError naming it."""
    path = tmp_path / "no-such-script.md"
    message = _error(path).format()
    assert message == f"{path}: no such script; check the path"


def test_directory_is_a_script_error(tmp_path: Path) -> None:
    """A folder given as the script is a one-line ScriptError naming it."""
    message = _error(tmp_path).format()
    assert message == f"{tmp_path}: is a folder, not a script file"


def test_bom_is_accepted() -> None:
    """A UTF-8 byte order mark before the front matter is ignored."""
    script = parse_script(GOOD / "bom.md")
    check_model(script)
    assert script.title == "A Test Script"
    assert [c.title for c in script.chapters] == ["One", "Two"]
    assert script.chapters[0].line == 11


def test_crlf_is_accepted_with_the_same_model_as_lf() -> None:
    """CRLF line ends give the same chapters, sentences and line numbers as LF."""
    crlf = parse_script(GOOD / "crlf.md")
    lf = parse_text((GOOD / "crlf.md").read_bytes().replace(b"\r\n", b"\n"), GOOD / "crlf.md")
    check_model(crlf)
    assert crlf.chapters == lf.chapters
    assert all("\r" not in s.text for s in crlf.sentences())


def test_tabs_become_single_spaces() -> None:
    """Tabs inside text read as single spaces in both the text and the spoken form."""
    script = parse_script(GOOD / "tabs.md")
    check_model(script)
    texts = [s.text for s in script.chapters[0].sentences[1:]]
    assert texts == ["A sentence with a tab.", "Another one, continued with a tab."]
    assert all("\t" not in s.spoken for s in script.sentences())


def test_stray_control_characters_are_dropped() -> None:
    """Control characters in the body are dropped from the text and from speech."""
    script = parse_script(GOOD / "control-characters.md")
    check_model(script)
    texts = [s.text for s in script.chapters[0].sentences[1:]]
    assert texts == ["A stray bell and a escape.", "A form feed and a DEL character."]
    assert [s.spoken for s in script.chapters[0].sentences[1:]] == texts


def test_bidi_controls_are_stripped_and_right_to_left_text_kept() -> None:
    """Bidi overrides and isolates leave titles, metadata and text; Hebrew letters stay."""
    script = parse_script(GOOD / "bidi-controls.md")
    check_model(script)
    assert script.title == "A Test Script"
    assert script.author == "\u05d3\u05d5\u05d3 \u05dc\u05d5\u05d9"
    assert [c.title for c in script.chapters] == ["The invoice total",
                                                  "\u05e4\u05e8\u05e7 \u05e9\u05e0\u05d9"]
    assert script.chapters[1].slug
    for sentence in script.sentences():
        assert not BIDI_CONTROLS.search(sentence.text + sentence.spoken)
    assert "\u05e9\u05dc\u05d5\u05dd" in script.chapters[0].sentences[1].text + \
        script.chapters[0].sentences[-1].text


@pytest.mark.parametrize(("name", "expected"), [
    ("french-abbreviations.md", ["Il habite rue St. Denis, c.-à-d. loin d'ici.",
                                 "Mme. Martin le sait.", "Mx. Durand aussi, voir p. 12."]),
    ("spanish-abbreviations.md", ["El Sr. García trajo frutas, p. ej. manzanas.",
                                  "La Sra. López vino con Ud. también.", "Mx. Ruiz llegó tarde."]),
])
def test_sentences_split_with_the_languages_abbreviations(name: str, expected: list[str]) -> None:
    """French and Spanish abbreviations, and lexicon keys ending in a full stop, end no sentence."""
    script = parse_script(GOOD / name)
    check_model(script)
    assert [s.text for s in script.chapters[0].sentences[1:]] == expected


def test_emoji_only_paragraphs_are_kept_written_and_not_spoken() -> None:
    """A paragraph of emoji is a sentence with no spoken form; a chapter of them speaks its
    heading instead of being "has no text"."""
    script = parse_script(GOOD / "emoji-only.md")
    check_model(script)
    one, two, _ = script.chapters
    assert [(s.text, s.spoken) for s in one.sentences[1:]] == [
        ("A sentence before the emoji.", "A sentence before the emoji."),
        ("\U0001f642\U0001f642\U0001f642", ""),
        ("A sentence after them.", "A sentence after them.")]
    assert [(s.text, s.spoken) for s in two.sentences] == [("Two", "Two"),
                                                          ("\U0001f389 \U0001f388 \u2026", "")]


def test_heading_markup_and_closing_hashes_are_removed() -> None:
    """`## The *first* part ##` is titled "The first part"; inline markup leaves its text."""
    script = parse_script(GOOD / "heading-markup.md")
    check_model(script)
    assert [c.title for c in script.chapters] == ["The first part",
                                                  "A bold code and linked title"]
    assert script.chapters[0].heading.spoken == "The first part"
    assert "example.com" not in script.chapters[1].heading.spoken


def test_link_text_is_spoken_and_url_never() -> None:
    """A link's text is read and shown; its URL and title are neither."""
    script = parse_script(GOOD / "links.md")
    check_model(script)
    sentences = script.chapters[0].sentences[1:]
    assert [s.text for s in sentences] == ["Read the full article for more.",
                                          "See also a second page."]
    for sentence in script.sentences():
        for form in (sentence.text, sentence.spoken):
            assert "example" not in form and "http" not in form and "Title" not in form


def test_quotes_and_lists_keep_their_kind() -> None:
    """Paragraphs, block quotes and list items are sentences of their own kind and block."""
    script = parse_script(GOOD / "kinds.md")
    check_model(script)
    body = script.chapters[0].sentences[1:]
    assert [(s.kind, s.text) for s in body] == [
        ("paragraph", "A plain paragraph."),
        ("quote", "A quoted paragraph."),
        ("list", "A list item."),
        ("list", "Another list item."),
        ("list", "A numbered item."),
    ]
    assert [s.block for s in body] == [1, 2, 3, 4, 5]
    assert [s.line for s in body] == [13, 15, 17, 18, 20]


def test_emphasis_markers_are_not_in_text_or_speech() -> None:
    """Emphasis and strong markers leave only their words."""
    script = parse_script(GOOD / "emphasis.md")
    check_model(script)
    sentence = script.chapters[0].sentences[1]
    assert sentence.text == "This is emphasized, this is strong, and this is also marked."
    assert "*" not in sentence.spoken and "_" not in sentence.spoken


def test_comments_that_are_not_pauses_are_ignored() -> None:
    """An author's comment is neither shown nor spoken and changes no pause."""
    script = parse_script(GOOD / "comments.md")
    check_model(script)
    first = script.chapters[0].sentences
    assert [s.text for s in first] == ["One", "The first sentence.", "The second sentence."]
    assert first[1].pause_after_ms == script.pauses.paragraph_ms
    for sentence in script.sentences():
        assert "note" not in sentence.text and "comment" not in sentence.spoken


def test_pauses_are_resolved() -> None:
    """Sentence, paragraph and chapter pauses come from front matter; directives override."""
    script = parse_script(GOOD / "pause.md")
    check_model(script)
    assert (script.pauses.sentence_ms, script.pauses.paragraph_ms,
            script.pauses.chapter_ms) == (300, 800, 1500)
    one, two = script.chapters
    assert [s.pause_after_ms for s in one.sentences] == [800, 300, 2000, 750]
    assert [s.pause_after_ms for s in two.sentences] == [800, 800, 0]


def test_default_pauses_between_chapters() -> None:
    """Without directives a chapter's last sentence is followed by the chapter pause."""
    script = parse_script(GOOD / "bom.md")
    assert [s.pause_after_ms for s in script.chapters[0].sentences] == [
        script.pauses.paragraph_ms, script.pauses.sentence_ms, script.pauses.chapter_ms]
    assert script.chapters[1].sentences[-1].pause_after_ms == 0


def test_long_sentence_is_split_below_the_utterance_limit() -> None:
    """A 5,000-word sentence becomes pieces no longer than the engine's limit, losing no word."""
    path = GOOD / "long-sentence.md"
    script = parse_script(path)
    check_model(script)
    pieces = script.chapters[0].sentences[1:]
    assert len(pieces) > 5
    assert max(len(s.spoken) for s in pieces) <= MAX_UTTERANCE_CHARS
    written = re.search(r"^It begins .*$", path.read_text(encoding="utf-8"), re.M)
    assert written is not None
    assert " ".join(s.text for s in pieces).split() == written.group().split()
    assert len(written.group().split()) > 5000


def test_lexicon_keys_and_values_are_the_text_written(tmp_path: Path) -> None:
    """YAML 1.1 booleans and numbers in the lexicon stay the words the author wrote."""
    script = tmp_path / "words.md"
    lexicon = ("lexicon:\n  NO: Norway\n  ON: Ontario\n  Y: why\n  OFF: off\n"
               "  1984: nineteen eighty-four\n  YES: 'yes'\n---\n")
    script.write_text(VALID_FRONT_MATTER.removesuffix("---\n") + lexicon
                      + "\n## One\n\nNO, ON, Y and OFF in 1984: False and True stay.\n",
                      encoding="utf-8")
    parsed = parse_script(script)
    assert parsed.lexicon == (("NO", "Norway"), ("ON", "Ontario"), ("Y", "why"), ("OFF", "off"),
                              ("1984", "nineteen eighty-four"), ("YES", "yes"))
    assert parsed.chapters[0].sentences[1].spoken == (
        "Norway, Ontario, why and off in nineteen eighty-four: False and True stay.")


def test_lexicon_changes_speech_only() -> None:
    """Lexicon entries change the spoken form; the text keeps the written form."""
    script = parse_script(GOOD / "lexicon.md")
    check_model(script)
    assert script.lexicon == (("LMFT", "L M F T"), ("Shadeen", "Shuh-deen"))
    sentence = script.chapters[0].sentences[1]
    assert sentence.text == "Shadeen Francis, LMFT, spoke."
    assert sentence.spoken == "Shuh-deen Francis, L M F T, spoke."


def test_content_note_names_its_chapter_ignoring_case() -> None:
    """content_note finds its chapter as titles are compared (ignoring case); its text is kept."""
    script = parse_script(GOOD / "content-note.md")
    check_model(script)
    assert script.chapters[0].title == "Content Note"
    assert script.content_note == "This talks about tears. Skip to chapter two."


def test_chapter_slugs_are_unique_and_safe() -> None:
    """Long, colliding and non-Latin titles get unique, short, single-hyphen file names."""
    script = parse_script(GOOD / "long-titles.md")
    check_model(script)
    assert [c.slug for c in script.chapters] == [
        "a" * 57 + "-bc", "a" * 57 + "-2", "untitled", "untitled-2"]


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.md")), ids=lambda p: p.name)
def test_good_script_chapters_are_its_level_two_headings(path: Path) -> None:
    """Each accepted script's chapters are exactly its `##` sections, in order."""
    script = parse_script(path)
    check_model(script)
    if path.name != "heading-markup.md":  # its titles carry inline markup
        titles = [BIDI_CONTROLS.sub("", title) for title in _titles_in(path)]
        assert [c.title for c in script.chapters] == titles


def test_article_script() -> None:
    """The article parses into its seven chapters with the content note first and brief."""
    script = parse_script(ARTICLE)
    check_model(script)
    titles = [c.title for c in script.chapters]
    assert titles == [
        "Content note",
        "About this edition",
        "Introduction",
        "What an Expert Has to Say About Emotional Release And Crying During Sex",
        "The Physical Triggers To Consider",
        "How to Support a Partner Who Cries During Sex",
        "Credits",
    ]
    assert titles == _titles_in(ARTICLE)
    assert script.chapters[0].title == "Content note"
    # About 150 words a minute: 75 words is 30 seconds of speech.
    assert 0 < len(script.content_note.split()) <= 75
    assert script.content_note == " ".join(s.text for s in script.chapters[0].sentences[1:])
    for sentence in script.sentences():
        assert "FrancisLMFT" not in sentence.text and "FrancisLMFT" not in sentence.spoken
    assert dict(script.lexicon) == {"Shadeen": "Shuh-deen", "postcoital": "post-koeittle",
                                    "tristesse": "tree-stess", "tears": "teers"}
    spoken = " ".join(s.spoken for s in script.sentences())
    text = " ".join(s.text for s in script.sentences())
    assert "Shuh-deen" in spoken and "Shadeen" not in spoken
    assert "Shadeen" in text and "Shuh-deen" not in text


# Text shaped like Markdown, so that the fuzzing reaches the body parser's corners.
_PIECES = [*"#<>!-*_`[]()~:=\n\n\n \t\r\\\"'0123456789aAsp.?,;|{}&", "pause", "<!--", "-->",
           "## ", "### ", "\x00", "\x07", "\u2028", "\x85", "é", "\U0001f642", "[[", "]]",
           "```", "    ", "1. ", "> ", "https://example.com/", "\ufeff"]
MARKDOWNISH = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


SENTINEL = "\n\n## Sentinel end\n\nSentinel words close the script.\n"


def _parses_or_script_error(raw: bytes) -> None:
    """Any input parses or is one ScriptError line; what parses lost nothing after it.

    A last chapter is added after the input: whatever the input holds, the parse either
    fails with a ScriptError or reaches that chapter and its text.
    """
    try:
        script = parse_text(raw + SENTINEL.encode(), Path("fuzz.md"))
    except ScriptError as error:
        assert "\n" not in error.format()
        return
    last = script.chapters[-1]
    assert (last.title, [s.text for s in last.sentences[1:]]) == (
        "Sentinel end", ["Sentinel words close the script."])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_arbitrary_bytes_parse_or_raise_script_error(raw: bytes) -> None:
    """Any bytes either parse or raise a one-line ScriptError, never anything else."""
    _parses_or_script_error(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400) | MARKDOWNISH)
def test_arbitrary_body_after_valid_front_matter(body: str) -> None:
    """Any text after a valid front matter either parses or raises a one-line ScriptError."""
    _parses_or_script_error((VALID_FRONT_MATTER + body).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(KNOWN_KEYS)), MARKDOWNISH), max_size=8),
       MARKDOWNISH)
def test_arbitrary_front_matter_values(pairs: list[tuple[str, str]], body: str) -> None:
    """Any values for the known front matter keys either parse or raise a ScriptError."""
    front = "\n".join(f"{key}: {value}" for key, value in pairs)
    _parses_or_script_error(f"---\n{front}\n---\n## A\n\n{body}".encode())


def test_deeply_nested_front_matter_is_a_script_error(tmp_path: Path) -> None:
    """Front matter nested thousands deep is a ScriptError, not a RecursionError."""
    path = tmp_path / "deep.md"
    path.write_text("---\ntitle: " + "[" * 5000 + "\n---\n", encoding="utf-8")
    assert _error(path).format().startswith(f"{path}:2: front matter is nested too deeply")


INLINE_HTML = VALID_FRONT_MATTER + (
    '\n## The <abbr title="World Health Organization">WHO</abbr> and '
    '<img src=x onerror=alert(1) alt="a logo"> us\n\n'
    "Read <em>this</em>, <strong>that</strong>, <i>i</i>, <b>b</b>, <u>u</u>, x<sup>2</sup>,\n"
    'H<sub>2</sub>O, <small>small</small>, <span class="x">span</span>, <q>quoted</q>,\n'
    "<cite>Cite</cite> and <mark>marked</mark>.<br>Caf&eacute; &amp; &#8364;5 &lt;ok&gt;.\n\n"
    'The <abbr title="World Health Organization">WHO</abbr> met. '
    '<!-- a comment -->Then WHO left <script>alert("x")</script>.\n\n'
    'WHO said the <abbr title="World Health Organization">WHO</abbr> said so.\n\n'
    'A picture <img src="p.png" alt="two cats" onload="steal()"> here. '
    '<style>p { color: red }</style>Done <iframe src="https://evil.example"></iframe>now.\n'
)


def test_inline_html_is_read_as_text(tmp_path: Path) -> None:
    """Inline elements give their text, references are decoded, nothing dangerous remains.

    An abbr's spoken form is for that occurrence only, not the same word before it.
    """
    script = tmp_path / "inline.md"
    script.write_text(INLINE_HTML, encoding="utf-8")
    chapter = parse_script(script).chapters[0]
    texts = [s.text for s in chapter.sentences]
    spoken = [s.spoken for s in chapter.sentences]
    assert texts == [
        "The WHO and a logo us",
        "Read this, that, i, b, u, x2, H2O, small, span, quoted, Cite and marked.",
        "Café & €5 <ok>.",
        "The WHO met.",
        "Then WHO left .",
        "WHO said the WHO said so.",
        "A picture two cats here.",
        "Done now.",
    ]
    assert spoken[0] == "The World Health Organization and us"
    assert spoken[3:7] == ["The World Health Organization met.", "Then WHO left.",
                           "WHO said the World Health Organization said so.", "A picture here."]
    everything = " ".join(texts + spoken)
    for needle in ("alert", "script", "onerror", "onload", "steal", "color", "evil", "<img"):
        assert needle not in everything
    changes = [c for s in chapter.sentences for c in s.changes if c.why not in ("symbol", "money")]
    assert [(c.written, c.spoken, c.why) for c in changes] == [
        ("WHO", "World Health Organization", "abbr title"),
        ("a logo", "", "image alt text, shown but not spoken"),
        ("WHO", "World Health Organization", "abbr title"),
        ("WHO", "World Health Organization", "abbr title"),
        ("two cats", "", "image alt text, shown but not spoken"),
    ]
