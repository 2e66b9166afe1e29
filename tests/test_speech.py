"""Tests for audioguide.speech: sentence splitting, the clean form and the spoken form."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audioguide.model import Change, Span
from audioguide.speech import (
    MAX_UTTERANCE_CHARS,
    check_lexicon,
    clean_text,
    speak,
    split_sentences,
    to_speech,
)


def _nonspace(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------------------
# split_sentences
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. She sat.", ["Dr. Smith arrived.", "She sat."]),
        ("The U.S. is big. Yes.", ["The U.S. is big.", "Yes."]),
        ("e.g. this one. Next.", ["e.g. this one.", "Next."]),
        (
            "I live on Main St. in town. Then I left.",
            ["I live on Main St. in town.", "Then I left."],
        ),
        ("That is, i.e. the end. Fine.", ["That is, i.e. the end.", "Fine."]),
        ("Wait... what? Yes!", ["Wait... what?", "Yes!"]),
        ("One sentence", ["One sentence"]),
    ],
)
def test_split_sentences_respects_abbreviations(text: str, expected: list[str]) -> None:
    """Abbreviations do not end a sentence; real sentence ends do."""
    assert split_sentences(text) == expected


def test_split_sentences_never_cuts_inside_a_url() -> None:
    """A '?' inside a URL is not a sentence boundary."""
    text = "Visit https://www.example.com/foo?x=1. Then go."
    assert split_sentences(text) == ["Visit https://www.example.com/foo?x=1.", "Then go."]


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_split_sentences_empty_input_gives_no_sentences(text: str) -> None:
    """Blank input yields an empty list, not an empty sentence."""
    assert split_sentences(text) == []


def test_split_sentences_strips_whitespace_and_newlines() -> None:
    """Sentences are stripped and the text is preserved apart from whitespace."""
    text = "  Hello\n\nworld.   Ok.  "
    result = split_sentences(text)
    assert all(s == s.strip() and s for s in result)
    assert _nonspace("".join(result)) == _nonspace(text)


def test_split_sentences_unsupported_language_falls_back() -> None:
    """A language pysbd lacks falls back to English rules instead of raising."""
    assert split_sentences("Hi there. Bye now.", "xx-YY") == ["Hi there.", "Bye now."]
    assert split_sentences("Bonjour M. Dupont. Ça va?", "fr") == ["Bonjour M. Dupont.", "Ça va?"]


def test_split_sentences_long_sentence_respects_limit() -> None:
    """A 5,000-word sentence is cut into pieces of at most 1000 chars, words in order."""
    words = [f"word{i}" for i in range(5000)]
    text = " ".join(words) + "."
    pieces = split_sentences(text)
    assert len(pieces) > 1
    assert all(0 < len(p) <= MAX_UTTERANCE_CHARS for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_split_sentences_long_sentence_prefers_clause_boundaries() -> None:
    """Over-long sentences are cut after a comma when one is near the limit."""
    text = ", ".join(f"item{i}" for i in range(2000)) + "."
    pieces = split_sentences(text)
    assert all(len(p) <= MAX_UTTERANCE_CHARS for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert _nonspace("".join(pieces)) == _nonspace(text)


def test_split_sentences_long_run_without_spaces_is_hard_cut() -> None:
    """A run with no space or clause boundary is cut at exactly the limit."""
    pieces = split_sentences("x" * 2500)
    assert [len(p) for p in pieces] == [1000, 1000, 500]


# ---------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  a\tb\n\nc  ", "a b c"),
        ("a\x00b\x07c\x1bd\x7fe\x9ff", "abcdef"),
        ("zero\u200bwidth\u2060joined\ufeff", "zerowidthjoined"),
        ("cafe\u0301", "caf\u00e9"),
        ("Hi 🙂, “quoted” — ok!", "Hi 🙂, “quoted” — ok!"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("stray\u200djoiner", "strayjoiner"),
        ("line\u2028sep\u00a0nbsp", "line sep nbsp"),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    """The reader form is NFC, control- and zero-width-free, collapsed, emoji kept."""
    assert clean_text(text) == expected


# ---------------------------------------------------------------------------
# to_speech: English normalization rules
# ---------------------------------------------------------------------------

RULES = [
    # abbreviations espeak-ng 1.51 misreads or pauses after
    ("St. Louis is here.", "Saint Louis is here."),
    ("I live on Main St. today.", "I live on Main Street today."),
    ("Walk to 5th St. Then turn.", "Walk to 5th Street Then turn."),
    ("Dr. Smith arrived.", "Doctor Smith arrived."),
    ("Mulholland Dr. is long.", "Mulholland Drive is long."),
    ("Mr. Smith, Mrs. Smith, Ms. Smith.", "Mister Smith, Missus Smith, Miz Smith."),
    ("It is, i.e. this.", "It is, that is this."),
    ("Fruit, e.g., apples.", "Fruit, for example, apples."),
    ("E.g. apples are fruit.", "for example apples are fruit."),
    ("Apples, pears, etc. are fruit.", "Apples, pears, etc. are fruit."),
    ("Cats vs. dogs.", "Cats versus dogs."),
    ("It is approx. 5 miles.", "It is approximately 5 miles."),
    ("No. 5 is here.", "number 5 is here."),
    ("See Vol. 3 and Fig. 2.", "See Volume 3 and Figure 2."),
    (
        "Smith Jr. and Prof. Jones climbed Mt. Everest.",
        "Smith Junior and Professor Jones climbed Mount Everest.",
    ),
    # years
    ("In 1987 we met.", "In nineteen eighty-seven we met."),
    ("In 1905 we met.", "In nineteen oh five we met."),
    ("In 1900 and 1100.", "In nineteen hundred and eleven hundred."),
    ("In 2005 we met.", "In 2005 we met."),
    ("In 2026 we met.", "In twenty twenty-six we met."),
    ("In 2010 we met.", "In twenty ten we met."),
    ("In the 1990s we danced.", "In the nineteen nineties we danced."),
    ("The 1800s and 2000s and 2010s.", "The eighteen hundreds and two thousands and twenty tens."),
    ("In the '60s and \u201870s.", "In the sixties and seventies."),
    ("The mid-1990s were fun.", "The mid-nineteen nineties were fun."),
    ("From 1987\u20131990.", "From nineteen eighty-seven to nineteen ninety."),
    ("From 1987-88.", "From nineteen eighty-seven to 88."),
    # numbers that are not years
    ("It was 1,987 and 1987.5 and $1987.", "It was 1,987 and 1987.5 and 1987 dollars."),
    ("About 1987 people and 1987% more.", "About 1987 people and 1987 percent more."),
    ("See No. 1987 and room 1987.", "See number 1987 and room 1987."),
    ("Born 1987-03-05.", "Born 1987-03-05."),
    ("Only 1066 and 12345.", "Only 1066 and 12345."),
    # currency
    ("It cost $5.99 today.", "It cost 5 dollars 99 cents today."),
    ("It cost $5 today.", "It cost 5 dollars today."),
    ("It cost $1 today.", "It cost 1 dollar today."),
    ("It cost $1,200 today.", "It cost 1200 dollars today."),
    ("It cost $0.99 or $1.01 or $5.00.", "It cost 99 cents or 1 dollar 1 cent or 5 dollars."),
    ("It cost £3.50 today.", "It cost 3 pounds 50 pence today."),
    ("It cost €10 or 10€.", "It cost 10 euros or 10 euros."),
    ("It cost $2.5 million.", "It cost 2.5 million dollars."),
    ("It cost $3bn.", "It cost 3 billion dollars."),
    ("From $5\u2013$10.", "From 5 dollars to 10 dollars."),
    # roman numerals
    ("Chapter IV begins.", "Chapter 4 begins."),
    ("Act I, Scene III.", "Act 1, Scene 3."),
    ("World War II ended.", "World War 2 ended."),
    ("Henry VIII was king.", "Henry the eighth was king."),
    ("Elizabeth II reigned.", "Elizabeth the second reigned."),
    ("Louis XIV's palace.", "Louis the fourteenth's palace."),
    ("It's MIX and DC and I.", "It's MIX and DC and I."),
    ("Malcolm X spoke.", "Malcolm X spoke."),
    ("Then I left.", "Then I left."),
    # quotes, dashes and symbols
    ("He said \u201chello\u201d to me.", "He said hello to me."),
    ("It\u2019s fine.", "It's fine."),
    (
        "word\u2014word and word \u2013 word and word -- word.",
        "word, word and word, word and word, word.",
    ),
    ("Pages 10\u201320.", "Pages 10 to 20."),
    ("Salt & pepper.", "Salt and pepper."),
    ("AT&T and R&D.", "AT&T and R&D."),
    ("Up 50% today.", "Up 50 percent today."),
    ("Use and/or this.", "Use and or this."),
    ("Ask him/her.", "Ask him or her."),
    ("Drive 50 km/h, n/a, AC/DC.", "Drive 50 km per h, n/a, AC/DC."),
    ("Well\u2026 maybe.", "Well... maybe."),
    ("Tabs\tand\nnewlines   collapse.", "Tabs and newlines collapse."),
]


@pytest.mark.parametrize(("text", "expected"), RULES)
def test_to_speech_english_rules(text: str, expected: str) -> None:
    """Each English normalization rule produces exactly the expected spoken form."""
    assert to_speech(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Go to https://www.21ninety.com/foo?x=1 now.", "Go to 21ninety dot com now."),
        ("Visit http://example.org.", "Visit example dot org."),
        ("See www.bbc.co.uk/news today.", "See bbc dot co dot uk today."),
        ("Read example.com/path then.", "Read example dot com then."),
        ("Mail bob.smith@example.com now.", "Mail bob dot smith at example dot com now."),
    ],
)
def test_to_speech_urls_and_emails(text: str, expected: str) -> None:
    """URLs and e-mail addresses become a short spoken host, never spelled out."""
    result = to_speech(text)
    assert result == expected
    for spelled in ("http", "www", "/", "?", "@", "="):
        assert spelled not in result


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "\x00\x00hello", "bell\x07 esc\x1b del\x7f c1\x85\x9f", "zw\u200b\u200d\ufeffj"],
)
def test_to_speech_removes_nul_and_controls(text: str) -> None:
    """NUL (which truncates espeak-ng's text) and control/format chars never pass."""
    result = to_speech(text)
    assert "\x00" not in result
    assert all(unicodedata.category(ch) not in ("Cc", "Cf") for ch in result)
    assert result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🙂 smile", "smile"),
        ("family 👨\u200d👩\u200d👧 here.", "family here."),
        ("press 1\ufe0f\u20e3 now", "press now"),
        ("love ❤\ufe0f it", "love it"),
        ("flag 🇫🇷 and 👍🏽 ok", "flag and ok"),
        ("star ⭐ and ☀ sun", "star and sun"),
        ("fun🙂times", "fun times"),
    ],
)
def test_to_speech_removes_emoji(text: str, expected: str) -> None:
    """Emoji, pictographs and their modifiers are removed, not read by name."""
    assert to_speech(text) == expected


@pytest.mark.parametrize("text", ["", "🙂", "...", "\u201c\u201d", "\x00", "[[]]", " — "])
def test_to_speech_empty_when_nothing_speakable(text: str) -> None:
    """Only text with nothing speakable left gives ''."""
    assert to_speech(text) == ""


def test_to_speech_defuses_phoneme_brackets_in_text() -> None:
    """'[[' in written text cannot switch espeak-ng into phoneme mode."""
    result = to_speech("Say [[h@l'oU]] and [x] now.")
    assert "[" not in result and "]" not in result
    assert result == "Say (h@l'oU) and (x) now."


def test_to_speech_non_english_only_neutral_rules() -> None:
    """Other languages get URLs, controls and emoji handled, but no English words."""
    text = "Visitez https://www.exemple.fr/page en 1987 🙂 Dr. X\x00 e.g."
    result = to_speech(text, language="fr")
    assert result == "Visitez exemple.fr en 1987 Dr. X e.g."


# ---------------------------------------------------------------------------
# to_speech: lexicon
# ---------------------------------------------------------------------------

LEXICON = (
    ("NYC", "New York City"),
    ("NY", "New York"),
    ("tea", "[[t'i:]]"),
    ("C++", "C plus plus"),
    ("New York", "NY"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NYC and NY.", "New York City and New York."),
        ("NYCX and xNY and nyc.", "NYCX and xNY and nyc."),
        ("NYC's tea party.", "New York City's [[t'i:]] party."),
        ("I like C++ a lot.", "I like C plus plus a lot."),
        ("Go to New York.", "Go to NY."),
    ],
)
def test_lexicon_whole_word_case_sensitive(text: str, expected: str) -> None:
    """Entries match whole words, case-sensitively, longest first."""
    assert to_speech(text, LEXICON) == expected


def test_lexicon_single_pass() -> None:
    """A replacement is never substituted again, even when entries point at each other."""
    assert to_speech("A B A", [("A", "B"), ("B", "A")]) == "B A B"
    assert to_speech("New York", LEXICON) == "NY"


def test_lexicon_longest_first() -> None:
    """The longest written form wins where entries overlap."""
    lexicon = [("New", "Knew"), ("New York Times", "the Times")]
    assert to_speech("New York Times is New.", lexicon) == "the Times is Knew."


def test_lexicon_phonemes_pass_through_normalization() -> None:
    """Spoken forms, inline phonemes included, are not touched by the English rules."""
    lexicon = [("Kyiv", "[[k'i:v]]"), ("Doc", "Dr. St. 1987 “x”")]
    assert to_speech("Kyiv and Doc.", lexicon) == "[[k'i:v]] and Dr. St. 1987 “x”."


def test_lexicon_spoken_form_is_sanitized() -> None:
    """Control characters in a spoken form are still removed."""
    assert to_speech("x here", [("x", "ex\x00tra\x07")]) == "extra here"


def test_lexicon_accepts_mapping_and_skips_bad_entries() -> None:
    """A dict works as a lexicon; malformed or empty-keyed entries are skipped, not fatal."""
    assert to_speech("NYC", {"NYC": "New York City"}) == "New York City"  # type: ignore[arg-type]
    bad = [("", "nothing"), ("ok", "fine"), ("x",), (1, "y")]
    assert to_speech("ok", bad) == "fine"  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# check_lexicon
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lexicon",
    [
        {},
        {"NYC": "New York City", "tea": "[[t'i:]]"},
        {"A": "B", "B": "C"},
        {"i": "[[i:]]"},
        {"NYC": "NYCity"},
    ],
)
def test_check_lexicon_accepts_good_lexicons(lexicon: dict[str, str]) -> None:
    """Non-empty entries without loops (chains and phonemes included) are fine."""
    assert check_lexicon(lexicon) is None


@pytest.mark.parametrize(
    ("lexicon", "fragment"),
    [
        ({"": "x"}, "empty written form"),
        ({"   ": "x"}, "empty written form"),
        ({"x": ""}, "empty spoken form"),
        ({"x": " \t "}, "empty spoken form"),
        ({"NYC": "NYC city"}, "recursive ('NYC' -> 'NYC')"),
        ({"A": "B", "B": "A"}, "recursive ('A' -> 'B' -> 'A')"),
        ({"A": "B", "B": "C", "C": "the A"}, "recursive ('A' -> 'B' -> 'C' -> 'A')"),
    ],
)
def test_check_lexicon_reports_bad_entries(lexicon: dict[str, str], fragment: str) -> None:
    """Empty and recursive entries give a one-line message naming the problem."""
    message = check_lexicon(lexicon)
    assert message is not None
    assert fragment in message
    assert "\n" not in message


def test_check_lexicon_message_is_one_line_with_newline_keys() -> None:
    """Even a written form containing a newline yields a one-line message."""
    message = check_lexicon({"a\nb": ""})
    assert message is not None and "\n" not in message


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

FRAGMENTS = [
    "$",
    "£",
    "€",
    "1987",
    "1990s",
    "2026",
    "1,200",
    ".99",
    "%",
    "St.",
    "Dr.",
    "Mr.",
    "e.g.",
    "i.e.",
    "No.",
    "Chapter",
    "IV",
    "VIII",
    "Henry",
    "https://",
    "www.",
    ".com",
    "@",
    "/",
    "&",
    "\u2014",
    "\u2013",
    "-",
    "[[",
    "]]",
    "\u201c",
    "\u2019",
    "\u2026",
    "\x00",
    "\x07",
    "\u200b",
    "\u200d",
    "\ufe0f",
    "\u20e3",
    "🙂",
    "🇫🇷",
    "\ue000",
    "\ue010",
    "\ue001",
    "\ud800",
    " ",
    "\n",
    ".",
    ",",
    "'",
]
texts = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(FRAGMENTS)), max_size=25).map(
    "".join
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, language=st.sampled_from(["en", "en-us", "fr", "de", ""]))
def test_to_speech_property(text: str, language: str) -> None:
    """For any text: no raise, no NUL/control/format/private chars, bounded length."""
    result = to_speech(text, language=language)
    assert "\x00" not in result
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co") for ch in result)
    assert len(result) <= 12 * len(text) + 16
    assert result == result.strip()


@settings(max_examples=100, deadline=None)
@given(
    text=texts,
    lexicon=st.lists(st.tuples(st.sampled_from(FRAGMENTS + ["A", "B", "NYC"]), texts), max_size=4),
)
def test_to_speech_with_lexicon_property(text: str, lexicon: list[tuple[str, str]]) -> None:
    """With any lexicon, to_speech still never raises or emits NUL/control chars."""
    result = to_speech(text, lexicon)
    assert all(unicodedata.category(ch) not in ("Cc", "Cs", "Co") for ch in result)
    assert check_lexicon(dict(lexicon)) is None or isinstance(check_lexicon(dict(lexicon)), str)


@settings(max_examples=150, deadline=None)
@given(text=texts, language=st.sampled_from(["en", "fr", "zz"]))
def test_split_sentences_property(text: str, language: str) -> None:
    """For any text: no raise, stripped non-empty pieces, content preserved in order."""
    result = split_sentences(text, language)
    assert all(s and s == s.strip() and len(s) <= MAX_UTTERANCE_CHARS for s in result)
    assert _nonspace("".join(result)) == _nonspace(text)


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_clean_text_property(text: str) -> None:
    """clean_text never raises, is idempotent and leaves no C0/C1 controls."""
    result = clean_text(text)
    assert clean_text(result) == result
    assert not any(unicodedata.category(ch) == "Cc" for ch in result)


def test_speak_reports_each_change_with_its_reason() -> None:
    """The spoken form comes with what was changed, word for word, and why."""
    spoken, changes = speak("Dr. Ng paid $5.99 in 1987 \U0001f642, see www.example.com.",
                            [("Ng", "Ing")])
    assert spoken == "Doctor Ing paid 5 dollars 99 cents in nineteen eighty-seven, see example " \
        "dot com."
    assert changes == (
        Change("Ng", "Ing", "lexicon"),
        Change("www.example.com", "example dot com", "URL"),
        Change("Dr.", "Doctor", "abbreviation"),
        Change("$5.99", "5 dollars 99 cents", "money"),
        Change("1987", "nineteen eighty-seven", "year"),
        Change("\U0001f642", "", "emoji, not spoken"),
    )


def test_spans_speak_their_own_form_before_the_lexicon() -> None:
    """A span (from markup) is spoken as given and untouched by the lexicon and the rules."""
    spoken, changes = speak("The WHO met Dr. Who.", [("Who", "Hoo")],
                            spans=[Span(4, 7, "World Health Organization", "abbr title")])
    assert spoken == "The World Health Organization met Doctor Hoo."
    assert changes[0] == Change("WHO", "World Health Organization", "abbr title")


def test_an_entry_that_maps_a_word_to_itself_is_allowed() -> None:
    """Mapping a word to itself marks it as checked; it is not a recursive lexicon."""
    assert check_lexicon({"Francis": "Francis"}) is None
    assert to_speech("Francis said.", [("Francis", "Francis")]) == "Francis said."
