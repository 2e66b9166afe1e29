"""Text as spoken: sentence splitting, the reader-facing clean form, and the engine form.

Three forms of a sentence exist in the pipeline:

* the *written* text of the script;
* the *clean* text (:func:`clean_text`), shown to readers in captions and pages;
* the *spoken* text (:func:`to_speech`), sent to the engine that narrates.

The spoken form only fixes what espeak-ng 1.51 (voice ``en-us``) actually gets
wrong; every English rule below was checked against ``espeak-ng -q -x`` before it
was added. For other languages only the language-neutral parts run (control
characters, emoji, URLs, the lexicon), because the English expansions would be
read with the wrong language's words.

Each engine owns its spoken form through the :class:`Rules` it names (an engine's
``speech`` attribute): the shared rules above, then the engine's own, in every
language. pyttsx3 (espeak-ng, SAPI5, NSSpeechSynthesizer) uses :data:`ESPEAK_NG`,
the shared rules alone; Piper, which phonemizes with espeak-ng too but synthesizes
each phonemized sentence on its own and drops the pause of brackets and ellipses,
uses :data:`PIPER`.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

import pysbd

from .model import Change, Rules, Span

__all__ = [
    "ESPEAK_NG",
    "MAX_UTTERANCE_CHARS",
    "PIPER",
    "RULES",
    "Rules",
    "check_lexicon",
    "clean_text",
    "lexicon_matches",
    "speak",
    "split_sentences",
    "to_speech",
]

MAX_UTTERANCE_CHARS = 1000
"""No utterance sent to the engine is longer than this many characters."""

# ---------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------

# Zero-width characters that carry no meaning for a reader or a listener.
_ZERO_WIDTH_ALWAYS = "\u200b\u2060\ufeff\u180e"
# ZWNJ/ZWJ shape Persian, Indic and emoji sequences, so the reader form keeps
# them there; between ASCII (or at a word edge) they are stray.
_ZERO_WIDTH_JOINERS = "\u200c\u200d"

_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_WHITESPACE_RE = re.compile(r"\s+")
_ZW_ALWAYS_RE = re.compile(f"[{_ZERO_WIDTH_ALWAYS}]")
_ZW_JOINER_RE = re.compile(f"[{_ZERO_WIDTH_JOINERS}]")
# Bidi embeddings, overrides and isolates (LRE..RLO, LRI..PDI): invisible, they reorder
# what readers see ("Trojan source" spoofing). Right-to-left letters need none of them;
# the outputs set each text's direction themselves. The marks LRM and RLM stay.
_BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")

# Blocks whose symbols (So/Sk) are emoji or pictographs. espeak-ng reads most of
# them by their Unicode name ("slightly smiling face"), which is noise.
_EMOJI_RANGES: tuple[tuple[int, int], ...] = (
    (0x1F000, 0x1FAFF),  # mahjong .. symbols and pictographs extended-A
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows (star, squares)
    (0x231A, 0x231B),  # watch, hourglass
    (0x2328, 0x2328),  # keyboard
    (0x23CF, 0x23CF),  # eject
    (0x23E9, 0x23FA),  # media controls, alarm clock
    (0x25AA, 0x25FE),  # geometric shapes used as emoji
    (0x3030, 0x3030),  # wavy dash
    (0x303D, 0x303D),  # part alternation mark
    (0x3297, 0x3299),  # circled ideographs
)
# Variation selectors, ZWJ, keycap combiner and tag characters only ever shape
# emoji; none of them is speakable on its own.
_EMOJI_MODIFIER_RE = re.compile(
    "[\ufe00-\ufe0f\u200d\u20e3\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_KEYCAP_RE = re.compile("[0-9#*]\ufe0f?\u20e3")
# A symbol followed by VS16 asked to be drawn as an emoji (e.g. "©️", "↩️").
_EMOJI_PRESENTATION_RE = re.compile("([^\\w\\s])\ufe0f")

# Lexicon substitutions are parked in the text as private-use tokens so the
# normalization cannot touch a spoken form; private-use characters are removed
# from the input first, so a text can never forge one.
_PH_OPEN = "\ue000"
_PH_CLOSE = "\ue001"
_PH_DIGIT0 = 0xE010
_PLACEHOLDER_RE = re.compile(f"({_PH_OPEN}[\ue010-\ue019]+{_PH_CLOSE})")
_PRIVATE_USE_RE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})


def _is_emoji(ch: str) -> bool:
    """Whether *ch* is a pictograph that must not reach the engine."""
    cp = ord(ch)
    for lo, hi in _EMOJI_RANGES:
        if lo <= cp <= hi:
            return unicodedata.category(ch) in ("So", "Sk", "Cn")
    return False


def _remove_emoji(text: str) -> str:
    """Remove emoji, pictographs and their modifiers, leaving a space where one stood."""
    text = _KEYCAP_RE.sub(" ", text)
    text = _EMOJI_PRESENTATION_RE.sub(" ", text)
    text = _EMOJI_MODIFIER_RE.sub("", text)
    if any(ord(ch) >= 0x231A for ch in text):
        # A space, not nothing, so "fun🙂times" does not become one word.
        text = "".join(" " if _is_emoji(ch) else ch for ch in text)
    return text


def _remove_unsafe(text: str) -> str:
    """Drop everything espeak-ng must never see: controls, format, private, unassigned."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in _UNSAFE_CATEGORIES)


def _collapse(text: str) -> str:
    return _WHITESPACE_RE.sub(" ", text).strip()


# ---------------------------------------------------------------------------
# Clean (reader) form
# ---------------------------------------------------------------------------


def _keep_joiner(match: re.Match[str]) -> str:
    text = match.string
    i = match.start()
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    # A joiner beside another joiner joins nothing; judging by the neighbours as they
    # stand keeps the result stable when it is cleaned again.
    if all(ord(c) > 0x7F and not c.isspace() and c not in _ZERO_WIDTH_JOINERS
           for c in (before, after)):
        return match.group()
    return ""


def clean_text(text: str) -> str:
    """Return the written form as shown to readers.

    NFC-normalized; C0/C1 control characters (NUL included) removed, with tabs,
    newlines and other whitespace controls turned into single spaces; zero-width
    characters and the BOM removed (ZWJ/ZWNJ survive only between two non-ASCII
    characters, where they shape emoji sequences and Persian or Indic words);
    bidi embedding, override and isolate controls removed (right-to-left letters
    are kept); runs of whitespace collapsed; stripped. Emoji and punctuation are kept,
    because readers see them.
    """
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    text = _ZW_ALWAYS_RE.sub("", text)
    text = _BIDI_CONTROLS_RE.sub("", text)
    text = _ZW_JOINER_RE.sub(_keep_joiner, text)
    return _collapse(text)


# ---------------------------------------------------------------------------
# Sentence splitting
# ---------------------------------------------------------------------------

_PYSBD_LANGUAGES = frozenset(
    "am ar bg da de el en es fa fr hi hy it ja kk mr my nl pl ru sk ur zh".split()
)

_CLAUSE_BOUNDARIES = ";:,\u2014\u2013"

# pysbd cuts URLs at "?" and "!" ("https://x.com/a?" | "b=1."); boundaries that
# fall inside one of these spans are dropped.
_URL_SPAN_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE
)
_FALLBACK_BOUNDARY_RE = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+")


@functools.lru_cache(maxsize=32)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def _pysbd_language(language: str) -> str:
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] if language else "en"
    # English rules are the closest safe default for a language pysbd lacks.
    return code if code in _PYSBD_LANGUAGES else "en"


def _nonspace(text: str) -> str:
    return "".join(text.split())


def _boundaries(text: str, language: str) -> list[int]:
    """Offsets in *text* where a new sentence starts, per pysbd, or a fallback."""
    try:
        segments = _segmenter(_pysbd_language(language)).segment(text)
        if _nonspace("".join(segments)) != _nonspace(text):
            raise ValueError("pysbd changed the text")
    except Exception:
        # pysbd is a heuristic library with regex internals; any failure on odd
        # input falls back to a plain terminal-punctuation split rather than
        # losing the paragraph.
        return [m.end() for m in _FALLBACK_BOUNDARY_RE.finditer(text)]
    # pysbd may move whitespace between segments, so map each segment's end back
    # onto the original text by counting non-space characters.
    offsets: list[int] = []
    counted = 0
    targets: list[int] = []
    for seg in segments[:-1]:
        counted += len(_nonspace(seg))
        targets.append(counted)
    seen = 0
    t = 0
    for i, ch in enumerate(text):
        if t >= len(targets):
            break
        if not ch.isspace():
            seen += 1
            while t < len(targets) and seen == targets[t]:
                offsets.append(i + 1)
                t += 1
    return offsets


def _split_long(sentence: str, limit: int) -> list[str]:
    """Cut *sentence* into stripped pieces of at most *limit* characters."""
    pieces: list[str] = []
    rest = sentence.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(ch, 0, limit) for ch in _CLAUSE_BOUNDARIES)
        space = next((i for i in range(len(window) - 1, 0, -1) if window[i].isspace()), -1)
        # A clause boundary near the start of the window would leave a tiny
        # utterance; a space late in the window gives a more even cut.
        if cut >= limit // 2 or (cut > 0 and space <= 0):
            head, rest = rest[: cut + 1], rest[cut + 1 :]
        elif space > 0:
            head, rest = rest[:space], rest[space + 1 :]
        else:
            head, rest = rest[:limit], rest[limit:]
        head = head.strip()
        rest = rest.strip()
        if head:
            pieces.append(head)
    if rest:
        pieces.append(rest)
    return pieces


# Abbreviations that pysbd ends a sentence after, by language (pysbd's own lists miss
# these). A sentence never ends inside or right after one.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "en": ("Mx.", "Mmes.", "approx.", "cf.", "vol.", "pp."),
    "fr": ("St.", "Ste.", "M.", "MM.", "Mme.", "Mmes.", "Mlle.", "Mlles.", "Dr.", "Pr.",
           "Me.", "Mgr.", "c.-à-d.", "c-à-d.", "cf.", "p.", "pp.", "env.", "av.", "apr.",
           "J.-C.", "vol.", "chap.", "éd.", "ex.", "art.", "bd.", "boul.", "n°."),
    "es": ("Sr.", "Sra.", "Srta.", "Sres.", "Dr.", "Dra.", "D.", "Dña.", "Ud.", "Uds.",
           "Vd.", "Vds.", "p. ej.", "pág.", "págs.", "núm.", "aprox.", "Lic.", "Ing.",
           "Av.", "Avda.", "a. C.", "d. C.", "EE. UU.", "S.ª", "cap.", "vol.", "ej."),
}


@functools.lru_cache(maxsize=64)
def _abbreviation_re(language: str, extra: tuple[str, ...]) -> re.Pattern[str] | None:
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] if language else "en"
    words = {*ABBREVIATIONS.get(code, ()), *extra}
    # The capitalized form too: an abbreviation may open a sentence ("P. ej. ...").
    words |= {w[0].upper() + w[1:] for w in words if w}
    if not words:
        return None
    alternatives = sorted((r"\s*".join(map(re.escape, w.split())) for w in words),
                          key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})")


def _inside_abbreviation(text: str, language: str, extra: tuple[str, ...]) -> list[range]:
    pattern = _abbreviation_re(language, extra)
    if pattern is None:
        return []
    # The cut after an abbreviation falls at its end or, with the space, just after it.
    return [range(m.start() + 1, m.end() + 2) for m in pattern.finditer(text)]


def split_sentences(text: str, language: str = "en", abbreviations: Sequence[str] = ()
                    ) -> list[str]:
    """Split a paragraph of written text into sentences.

    Uses pysbd (``clean=False``) so abbreviations (Dr., St., e.g., i.e., U.S.) do
    not end a sentence, nor those of :data:`ABBREVIATIONS` for the language, nor the
    given `abbreviations` (a lexicon's keys that end in a full stop, such as "Mx.");
    and never cuts inside a URL or e-mail address. Returns
    stripped, non-empty sentences whose concatenation, ignoring whitespace, equals
    the input. A sentence longer than :data:`MAX_UTTERANCE_CHARS` is further split
    at the last clause boundary (``; : , — –``) or space before the limit, so no
    piece exceeds it. Never raises for any ``str`` input.
    """
    if not text or text.isspace():
        return []
    protected = [(m.start(), m.end()) for m in _URL_SPAN_RE.finditer(text)]
    held = _inside_abbreviation(text, language,
                                tuple(a for a in abbreviations if a.endswith(".")))
    cuts = [
        b
        for b in _boundaries(text, language)
        if not any(start < b < end for start, end in protected)
        and not any(b in span for span in held)
    ]
    sentences: list[str] = []
    prev = 0
    for b in [*cuts, len(text)]:
        chunk = text[prev:b]
        prev = b
        if chunk.strip():
            sentences.extend(_split_long(chunk, MAX_UTTERANCE_CHARS))
    return sentences


# ---------------------------------------------------------------------------
# Numbers as words
# ---------------------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _number_words(n: int) -> str:
    """Cardinal words for 0 <= n < 10**12, US style ("one hundred one")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            words = f"{_number_words(high)} {name}"
            return f"{words} {_number_words(rest)}" if rest else words
    raise AssertionError("unreachable")  # pragma: no cover


def _ordinal_words(n: int) -> str:
    """Ordinal words ("eighth", "twenty-first") for 0 < n < 10**12."""
    words = _number_words(n)
    head, sep, last = words.rpartition("-") if "-" in words else words.rpartition(" ")
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def _plural_word(phrase: str) -> str:
    """Pluralize the last word of a number phrase ("nineteen ninety" -> "... nineties")."""
    head, sep, last = phrase.rpartition("-") if "-" in phrase else phrase.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head}{sep}{last}"


def _year_words(year: int) -> str:
    """A year the way it is said: 1987 "nineteen eighty-seven", 1905 "nineteen oh five"."""
    if 2000 <= year <= 2009:
        return _number_words(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{_number_words(high)} hundred"
    if low < 10:
        return f"{_number_words(high)} oh {_number_words(low)}"
    return f"{_number_words(high)} {_number_words(low)}"


# ---------------------------------------------------------------------------
# Language-neutral rules: URLs and e-mail addresses
# ---------------------------------------------------------------------------

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|uk|us|ca|au|nz|ie|de|fr|es|nl|be|ch|at|se|"
    "no|dk|fi|eu|jp|cn|ru|br|mx|za|tv|fm|ly|me|app|dev|ai|news|blog|shop|online|site|tech|xyz"
)
# Characters a URL may contain here; private-use placeholders excluded so a
# lexicon substitution is never swallowed into a URL.
_URL_CHARS = "[^\\s<>\"'\u201c\u201d\u2018\u2019\ue000-\uf8ff]"
_URL_TRAILING = ".,;:!?)]}"
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][\w.+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?!\w)"
)
_URL_RE = re.compile(
    rf"(?<![\w@./-])(?:"
    rf"(?:https?|ftp)://{_URL_CHARS}+"
    rf"|www\.{_URL_CHARS}+"
    rf"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_TLDS})(?![\w-])(?::\d+)?(?:/{_URL_CHARS}*)?"
    rf")",
    re.IGNORECASE,
)
_HOST_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/?#]*@)?([^/?#:]+)", re.IGNORECASE)


def _spoken_host(host: str, english: bool) -> str:
    host = host.strip(".")
    if host.lower().startswith("www."):
        host = host[4:]
    return host.replace(".", " dot ") if english else host


def _replace_url(match: re.Match[str], english: bool) -> str:
    url = match.group()
    # Sentence punctuation right after a URL belongs to the sentence.
    trailing = ""
    while url and url[-1] in _URL_TRAILING:
        trailing = url[-1] + trailing
        url = url[:-1]
    host_match = _HOST_RE.match(url)
    host = host_match.group(1) if host_match else url
    return _spoken_host(host, english) + trailing


def _replace_email(match: re.Match[str]) -> str:
    name = match.group(1).replace(".", " dot ")
    return f"{name} at {_spoken_host(match.group(2), True)}"


def _emails(text: str) -> str:
    """Replace e-mail addresses with a short spoken form (English)."""
    return _EMAIL_RE.sub(_replace_email, text)


def _urls(text: str, english: bool) -> str:
    """Replace URLs with their host, said "dot" by dot in English."""
    return _URL_RE.sub(lambda m: _replace_url(m, english), text)


# ---------------------------------------------------------------------------
# English rules
# ---------------------------------------------------------------------------

# Quote marks make espeak-ng pause mid-sentence; apostrophes are kept.
_QUOTE_MARKS_RE = re.compile(
    '["\u201c\u201d\u201e\u201f\u201b\u00ab\u00bb\u2039\u203a'
    "\u300c\u300d\u300e\u300f\u301d\u301e\uff02]"
)
_OPEN_SINGLE_RE = re.compile("\u2018(?=\\d)")

_CAP_NEXT = rf"(?=\s+[A-Z{_PH_OPEN}])"

# espeak-ng 1.51 reads "Dr." and "Mr." right but pauses after the full stop as if
# a sentence ended; "Ms.", "Jr.", "Sr.", "Mt." it spells out; "i.e.", "vs." it
# spells; "e.g." before a capital it spells; "approx." it reads "aprox";
# "No. 5" it reads "no five".
_SIMPLE_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w.])e\.g\.(?!\w)", re.IGNORECASE), "for example"),
    (re.compile(r"(?<![\w.])i\.e\.(?!\w)", re.IGNORECASE), "that is"),
    (re.compile(r"(?<![\w.])vs\.?(?![\w.])"), "versus"),
    (re.compile(r"(?<![\w.])Vs\.?(?![\w.])"), "Versus"),
    (re.compile(r"(?<![\w.])approx\.(?!\w)"), "approximately"),
    (re.compile(r"(?<![\w.])Approx\.(?!\w)"), "Approximately"),
    (re.compile(r"(?<![\w.])Nos\.\s?(?=\d)"), "numbers "),
    (re.compile(r"(?<![\w.])[Nn]o\.\s?(?=\d)"), "number "),
    (re.compile(r"(?<![\w.])Vol\.\s?(?=\d|[IVXLC]+\b)"), "Volume "),
    (re.compile(r"(?<![\w.])Fig\.\s?(?=\d)"), "Figure "),
    (re.compile(r"(?<![\w.])Mr\.(?!\w)"), "Mister"),
    (re.compile(r"(?<![\w.])Mrs\.(?!\w)"), "Missus"),
    (re.compile(r"(?<![\w.])Ms\.?" + _CAP_NEXT), "Miz"),
    (re.compile(r"(?<![\w.])Prof\." + _CAP_NEXT), "Professor"),
    (re.compile(r"(?<![\w.])Mt\." + _CAP_NEXT), "Mount"),
    (re.compile(r"(?<=[A-Za-z]),?\s+Jr\.?(?!\w)"), " Junior"),
    (re.compile(r"(?<=[A-Za-z]),?\s+Sr\.(?!\w)"), " Senior"),
)

_TITLE_OR_PLACE_RE = re.compile(r"(?<![\w.])(St|Dr)\.(?!\w)")
_NEXT_IS_NAME_RE = re.compile(rf"\s+[A-Z{_PH_OPEN}]")
_PREVIOUS_WORD_RE = re.compile(r"(\S+)\s+$")
_STREET_NUMBER_RE = re.compile(r"\d+(?:st|nd|rd|th)?")
_EXPANSIONS = {"St": ("Saint", "Street"), "Dr": ("Doctor", "Drive")}


def _title_or_place(m: re.Match[str]) -> str:
    """Expand "St."/"Dr.": before a name is Saint/Doctor; after a name or number, Street/Drive."""
    title, place = _EXPANSIONS[m.group(1)]
    text = m.string
    previous = _PREVIOUS_WORD_RE.search(text, max(0, m.start() - 40), m.start())
    prev_word = previous.group(1) if previous else ""
    after_number = bool(_STREET_NUMBER_RE.fullmatch(prev_word))
    if _NEXT_IS_NAME_RE.match(text, m.end()) and not after_number:
        return title
    if after_number or prev_word[:1].isupper():
        return place
    # Lower-case context ("the St."): espeak-ng's own reading is as good a guess.
    return m.group()


def _abbreviations(text: str) -> str:
    text = _TITLE_OR_PLACE_RE.sub(_title_or_place, text)
    for pattern, spoken in _SIMPLE_ABBREVIATIONS:
        text = pattern.sub(spoken, text)
    return text


_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "", ""),
}
_SCALE_SUFFIX = {
    "k": "thousand",
    "K": "thousand",
    "m": "million",
    "M": "million",
    "mn": "million",
    "bn": "billion",
    "B": "billion",
    "tn": "trillion",
}
_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
# espeak-ng reads "$5.99" as "dollar five point nine nine".
_CURRENCY_BEFORE_RE = re.compile(
    rf"(?<![\w$£€¥])([$£€¥])\s?{_AMOUNT}"
    r"(?:\s+(thousand|million|billion|trillion)\b|(k|K|m|M|mn|bn|B|tn)\b)?"
    r"(?![\d.,]?\d)"
)
_CURRENCY_AFTER_RE = re.compile(rf"(?<![\w.,$£€¥]){_AMOUNT}\s?([€£$¥])(?![\w$£€¥])")


def _money(symbol: str, whole: str, decimals: str | None, scale: str | None) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[symbol]
    whole = whole.replace(",", "")
    if scale:
        amount = f"{whole}.{decimals}" if decimals else whole
        return f"{amount} {scale} {many}"
    major = f"{whole} {one if whole == '1' else many}"
    if decimals is None:
        return major
    if len(decimals) != 2 or not sub_one:
        return f"{whole}.{decimals} {many}"
    cents = int(decimals)
    minor = f"{cents} {sub_one if cents == 1 else sub_many}"
    if cents == 0:
        return major
    if int(whole) == 0:
        return minor
    return f"{major} {minor}"


def _currency(text: str) -> str:
    def before(m: re.Match[str]) -> str:
        scale = m.group(4) or _SCALE_SUFFIX.get(m.group(5) or "")
        return _money(m.group(1), m.group(2), m.group(3), scale)

    def after(m: re.Match[str]) -> str:
        return _money(m.group(3), m.group(1), m.group(2), None)

    text = _CURRENCY_BEFORE_RE.sub(before, text)
    return _CURRENCY_AFTER_RE.sub(after, text)


_UNITS = (
    "percent|per cent|km|kms|cm|mm|kg|mg|g|lb|lbs|oz|ft|feet|foot|inches|mi|mph|kph|"
    "miles?|meters?|metres?|kilometers?|kilometres?|kilograms?|grams?|pounds?|dollars?|"
    "euros?|yen|calories|kcal|kWh|MW|GW|Hz|kHz|MHz|GB|MB|KB|TB|degrees?|ml|liters?|"
    "litres?|gallons?|tons?|tonnes?|acres?|hectares?|people|persons|times|words|pages|"
    "units|rpm|hp|square|cubic"
)
# A year stands alone: not inside a bigger number, money, a date or a code, and
# not followed by a unit.
_YEAR_RE = re.compile(
    r"(?<![\w$£€¥.,:/#+\u2013])(?<!\d-)(?<!\s-)(?<!^-)"
    r"(?P<year>1[1-9]\d\d|20\d\d)(?P<s>'?s)?"
    r"(?![\w%°])(?![.,]\d)(?![-/\u2013]\d)"
    rf"(?!\s*(?:%|°|(?:{_UNITS})\b))"
)
# Words before a number that make it an identifier, not a year.
_NOT_YEAR_BEFORE = frozenset(
    "number numbers no room page pages pp p flight route bus apartment apt suite unit "
    "code pin extension ext id line row seat gate platform channel track exit version "
    "v model serial zip highway interstate".split()
)
_YEAR_RANGE_RE = re.compile(
    r"(?<![\w.,$£€¥/-])(1[1-9]\d\d|20\d\d)\s?[-\u2013\u2014]\s?(\d{4}|\d{2})(?![\w.,/-]?\d)(?!-)"
)
_NUMBER_RANGE_RE = re.compile(r"(?<=\d)\s?[\u2013\u2014]\s?(?=[$£€¥]?\d)")
_SHORT_DECADE_RE = re.compile(r"(?<![\w'])'([1-9]0)s(?!\w)")


def _year_range(m: re.Match[str]) -> str:
    first, second = m.group(1), m.group(2)
    later = (
        int(second) > int(first[-len(second) :]) if len(second) == 2 else int(second) > int(first)
    )
    return f"{first} to {second}" if later else m.group()


def _years(text: str) -> str:
    text = _YEAR_RANGE_RE.sub(_year_range, text)

    def year(m: re.Match[str]) -> str:
        value = int(m.group("year"))
        decade = m.group("s")
        words_before = m.string[max(0, m.start() - 20) : m.start()].split()
        if words_before and words_before[-1].lower().rstrip(".") in _NOT_YEAR_BEFORE:
            return m.group()
        if decade:
            if value % 10:
                return m.group()
            return _plural_word(_year_words(value))
        if 2000 <= value <= 2009:
            # espeak-ng already says "two thousand five".
            return m.group()
        return _year_words(value)

    text = _YEAR_RE.sub(year, text)
    return _SHORT_DECADE_RE.sub(lambda m: _plural_word(_number_words(int(m.group(1)))), text)


_ROMAN_RE = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_NUMBERED_WORDS = (
    "Chapter|Chapters|Part|Book|Volume|Section|Act|Scene|World War|Article|Appendix|Episode|"
    "Phase|Stage|Type|Class|Level|Season|Canto|Psalm|Vatican"
)
# espeak-ng reads "Chapter IV" as "chapter roman four".
_NUMBERED_ROMAN_RE = re.compile(rf"(?<!\w)({_NUMBERED_WORDS})(\s+)([IVXLCDM]+)(?![\w'\u2019])")
# Regnal numbers: only I/V/X numerals of two letters or more, or V ("Henry V");
# never a lone "I" (the pronoun) or "X" ("Malcolm X").
_REGNAL_RE = re.compile(r"(?<![\w.])([A-Z][a-z]+)(\s+)([IVX]{2,}|V)(?![\w\u2019]|'(?!s\b))")
_NOT_NAMES = frozenset(
    "The A An And But Or Nor If So Then When While Where Why How What Who In On At To Of For "
    "With From By As Is Are Was Were Be It He She We They You This That These Those My Our "
    "Your His Her Their Its Not No Yes Use See".split()
)


def _roman_value(numeral: str) -> int | None:
    if not numeral or not _ROMAN_RE.match(numeral):
        return None
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        following = _ROMAN_VALUES[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total


def _roman_numerals(text: str) -> str:
    def numbered(m: re.Match[str]) -> str:
        value = _roman_value(m.group(3))
        return m.group() if value is None else f"{m.group(1)}{m.group(2)}{value}"

    def regnal(m: re.Match[str]) -> str:
        value = _roman_value(m.group(3))
        if value is None or m.group(1) in _NOT_NAMES:
            return m.group()
        return f"{m.group(1)}{m.group(2)}the {_ordinal_words(value)}"

    text = _NUMBERED_ROMAN_RE.sub(numbered, text)
    return _REGNAL_RE.sub(regnal, text)


_TIME_UNITS = frozenset("s sec second h hr hour d day wk week mo month yr year min minute".split())
_SLASH_WORDS_RE = re.compile(r"(?<![\w/])([A-Za-z]+(?:/[A-Za-z]+)+)(?![\w/])")


def _slash_words(m: re.Match[str]) -> str:
    parts = m.group(1).split("/")
    if len(parts) == 2 and parts[1] in _TIME_UNITS:
        # "km/h" reads "k m slash h"; "per" is what a reader says.
        return f"{parts[0]} per {parts[1]}"
    # Acronym pairs ("AC/DC") and one-letter parts ("n/a", "w/o") are left to espeak.
    if any(len(p) < 2 for p in parts) or all(p.isupper() for p in parts):
        return m.group()
    # "and/or" is said "and or", not "and or or".
    if any(p.lower() in ("and", "or") for p in parts):
        return " ".join(parts)
    return " or ".join(parts)


def _number_ranges(text: str) -> str:
    # espeak-ng drops an en dash between numbers ("1987–1990" is read as two
    # numbers); runs before currency so "$5–$10" keeps both amounts.
    return _NUMBER_RANGE_RE.sub(" to ", text)


def _punctuation(text: str) -> str:
    # Dashes between words: a comma pauses the same way, and espeak-ng reads a
    # spaced hyphen as nothing at all.
    text = re.sub(r"\s*[\u2014\u2013\u2015]\s*|\s+--?\s+|(?<=\w)--(?=\w)", ", ", text)
    # "AT&T" with "and" reads "at and T"; espeak says "A T and T" unaided.
    text = re.sub(r"(?<![A-Z])\s*&\s*|\s*&\s*(?![A-Z])", " and ", text)
    text = _SLASH_WORDS_RE.sub(_slash_words, text)
    text = re.sub(r"(?<=\d)\s?%", " percent", text)
    return text.replace("\u2026", "...")


def _quotes(text: str) -> str:
    text = _QUOTE_MARKS_RE.sub(" ", text)
    text = _OPEN_SINGLE_RE.sub("'", text)
    text = text.replace("\u2018", " ")
    return text.replace("\u2019", "'")


# Each rule with the reason a listener hears something other than the written text;
# None for rules that only change how a pause falls.
_ENGLISH_RULES: tuple[tuple[Callable[[str], str], str | None], ...] = (
    (_quotes, None),
    (_number_ranges, "number range"),
    (_abbreviations, "abbreviation"),
    (_currency, "money"),
    (_years, "year"),
    (_roman_numerals, "Roman numeral"),
    (_punctuation, "symbol"),
)


# ---------------------------------------------------------------------------
# Rules of one engine
# ---------------------------------------------------------------------------

# A closing bracket where the clause goes on (not before punctuation or the end).
_CLOSE_BRACKET_RE = re.compile(r"\s*[)\]]\s*(?![\s,.;:!?)\]]|$)")
_BRACKET_RE = re.compile(r"\s*[(\[)\]]\s*")
# An ellipsis with words after it ("Wait… what?"), not one that ends the sentence.
_INNER_ELLIPSIS_RE = re.compile(r"\s*(?:\u2026|\.{3})\s*(?=[\w\ue000])")
# A full stop after a word of letters with more of the sentence after it ("Sgt.
# Pepper", "J. R. Tolkien"); dotted letters ("U.S.", "a.m.", "e.g.") and decimal
# points are left alone, espeak-ng reads them whole.
_INNER_FULL_STOP_RE = re.compile(r"(?<![.\w])([^\W\d_]+)\.(?=\s+\S)")


def _clause_pauses(text: str) -> str:
    # Piper's phonemizer drops brackets and an inner ellipsis with no pause at all:
    # "Wait… what?" is one word, "wˈeɪtwˌʌt?". A comma pauses the way a reader does.
    text = _INNER_ELLIPSIS_RE.sub(", ", text)
    text = _CLOSE_BRACKET_RE.sub(", ", text)
    return _BRACKET_RE.sub(lambda m: ", " if m.group().strip() in "([" else "", text)


def _inner_full_stops(text: str) -> str:
    # Piper speaks each phonemized sentence on its own, and its phonemizer ends one at
    # a full stop after a word: "Ask Sgt. Pepper now." would be two utterances, the
    # first with a falling end. espeak-ng reads "Sgt", "Fig" and "J" the same unstopped.
    return _INNER_FULL_STOP_RE.sub(r"\1", text)


RULES: dict[str, tuple[Callable[[str], str], str | None]] = {
    "clause pauses": (_clause_pauses, None),
    "inner full stops": (_inner_full_stops, None),
}
"""Rules an engine may add to the shared ones, by name, each with the reason a listener
hears something else (None when only a pause changes)."""


ESPEAK_NG = Rules("espeak-ng")
"""The shared rules alone: what espeak-ng 1.51 misreads (pyttsx3's engine on Linux)."""

PIPER = Rules("piper", ("clause pauses", "inner full stops"))
"""The shared rules, then the pauses and sentence ends Piper's phonemizer loses."""


# ---------------------------------------------------------------------------
# Lexicon
# ---------------------------------------------------------------------------

_PHONEMES_RE = re.compile(r"\[\[.*?\]\]", re.DOTALL)


def _lexicon_key(written: str) -> str:
    return _collapse(unicodedata.normalize("NFC", written))


def _sanitize_spoken(spoken: str) -> str:
    return _collapse(_remove_unsafe(unicodedata.normalize("NFC", spoken)))


def _whole_word_pattern(keys: Sequence[str]) -> re.Pattern[str] | None:
    if not keys:
        return None
    ordered = sorted(keys, key=lambda k: (-len(k), k))
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")


@functools.lru_cache(maxsize=64)
def _compiled_lexicon(
    entries: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    table: dict[str, str] = {}
    for written, spoken in entries:
        key = _lexicon_key(written)
        if key:
            table[key] = _sanitize_spoken(spoken)
    return _whole_word_pattern(list(table)), table


def _lexicon_entries(
    lexicon: Sequence[tuple[str, str]] | Mapping[str, str],
) -> tuple[tuple[str, str], ...]:
    items = lexicon.items() if isinstance(lexicon, Mapping) else lexicon
    entries: list[tuple[str, str]] = []
    for item in items:
        # A malformed entry is skipped, not fatal: check_lexicon reports it.
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            continue
        written, spoken = item
        if isinstance(written, str) and isinstance(spoken, str):
            entries.append((written, spoken))
    return tuple(entries)


def _placeholder(index: int) -> str:
    return _PH_OPEN + "".join(chr(_PH_DIGIT0 + int(d)) for d in str(index)) + _PH_CLOSE


def _placeholder_index(token: str) -> int:
    return int("".join(str(ord(ch) - _PH_DIGIT0) for ch in token[1:-1]))


def _apply_lexicon(
    text: str, lexicon: Sequence[tuple[str, str]] | Mapping[str, str], spoken: list[str],
    changes: list[Change],
) -> str:
    """Substitute lexicon entries in one pass, parking each spoken form as a token."""
    pattern, table = _compiled_lexicon(_lexicon_entries(lexicon))
    if pattern is None:
        return text

    def substitute(m: re.Match[str]) -> str:
        spoken.append(table[m.group()])
        changes.append(Change(m.group(), table[m.group()], "lexicon"))
        # No padding: a match never touches a word character, and padding would
        # break possessives ("NYC's").
        return _placeholder(len(spoken) - 1)

    return pattern.sub(substitute, text)


def lexicon_matches(text: str, lexicon: Sequence[tuple[str, str]]) -> set[str]:
    """The written forms of `lexicon` that occur in `text` as the speech rules match them."""
    pattern, _ = _compiled_lexicon(_lexicon_entries(lexicon))
    return set(pattern.findall(clean_text(text))) if pattern is not None else set()


def check_lexicon(lexicon: Mapping[str, str]) -> str | None:
    """Return a one-line error message for a bad lexicon, or None when it is fine.

    An entry is bad when its written or spoken form is empty (after stripping), or
    when entries are recursive: a spoken form contains, as a whole word, its own
    written form or another entry's written form so that repeated substitution
    would loop (``{"A": "B", "B": "A"}``, ``{"NYC": "NYC city"}``). Inline
    phonemes (``[[...]]``) in a spoken form are not words and are not checked.
    """
    table: dict[str, str] = {}
    for written, spoken in lexicon.items():
        if not isinstance(written, str) or not isinstance(spoken, str):
            return f"lexicon entry {written!r}: written and spoken forms must both be text"
        key = _lexicon_key(written)
        if not key:
            return f"lexicon entry {written!r} -> {spoken!r} has an empty written form"
        if not spoken.strip():
            return f"lexicon entry {written!r} has an empty spoken form"
        table[key] = _PHONEMES_RE.sub(" ", _lexicon_key(spoken))

    pattern = _whole_word_pattern(list(table))
    if pattern is None:
        return None
    # An entry that maps a word to itself marks it as checked; it substitutes nothing.
    graph = {key: sorted(set(pattern.findall(spoken)) - ({key} if spoken == key else set()))
             for key, spoken in table.items()}

    # Depth-first search for a cycle; the path is reported so the author sees it.
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, path)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for key in graph:
        if key not in state:
            cycle = visit(key, [])
            if cycle:
                chain = " -> ".join(repr(k) for k in cycle)
                return (
                    f"lexicon entries are recursive ({chain}): a spoken form must not "
                    "contain a written form"
                )
    return None


# ---------------------------------------------------------------------------
# Spoken form
# ---------------------------------------------------------------------------


def _is_english(language: str) -> bool:
    return language.strip().lower()[:2] == "en" if isinstance(language, str) else True


def _tidy(text: str) -> str:
    """Tidy the punctuation left behind once emoji and unsafe characters are gone."""
    # Square brackets left in the text become parentheses (same pause), so no
    # "[[" can ever form next to a lexicon phoneme string.
    text = text.replace("[", "(").replace("]", ")")
    text = _collapse(text)
    text = re.sub(r"\s+(?=[,.;:!?])", "", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([.!?])\s*,", r"\1", text)
    text = re.sub(r"\(\s*\)", " ", text)
    text = re.sub(r"^[\s,;:]+|[\s,;:]+$", "", text)
    return _collapse(text)


def _remove_unsafe_keep_placeholders(text: str) -> str:
    parts = _PLACEHOLDER_RE.split(text)
    # Odd indices are the placeholders captured by the split.
    return "".join(part if i % 2 else _remove_unsafe(part) for i, part in enumerate(parts))


def _speakable(text: str) -> bool:
    return any(unicodedata.category(ch)[0] not in "PZC" for ch in text)


_WORD_RE = re.compile(r"\S+")


def _trim_common(written: str, spoken: str) -> tuple[str, str]:
    """Drop punctuation both sides share at their ends ("1987," -> "nineteen eighty-seven,")."""
    while written and spoken and written[0] == spoken[0] and not written[0].isalnum():
        written, spoken = written[1:], spoken[1:]
    while written and spoken and written[-1] == spoken[-1] and not written[-1].isalnum():
        written, spoken = written[:-1], spoken[:-1]
    return written.strip(), spoken.strip()


def _differences(before: str, after: str, why: str, spoken: list[str]) -> list[Change]:
    """What one rule changed, compared word by word (words as split at spaces)."""
    if before == after:
        return []
    old, new = list(_WORD_RE.finditer(before)), list(_WORD_RE.finditer(after))
    matcher = difflib.SequenceMatcher(None, [m.group() for m in old], [m.group() for m in new],
                                      autojunk=False)

    def text_of(words: list[re.Match[str]], source: str, start: int, end: int) -> str:
        if start >= end:
            return ""
        piece = source[words[start].start():words[end - 1].end()]
        return _PLACEHOLDER_RE.sub(lambda m: spoken[_placeholder_index(m.group())], piece)

    changes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            written, said = _trim_common(text_of(old, before, i1, i2), text_of(new, after, j1, j2))
            if written or said:
                changes.append(Change(written, said, why))
    return changes


def _park_spans(text: str, spans: Sequence[Span], spoken: list[str],
                changes: list[Change]) -> str:
    """Text with each span parked as a token for its spoken form, the rest as written."""
    parts: list[str] = []
    at = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < at or span.end > len(text) or span.start >= span.end:
            continue  # overlapping or outside: the written text is spoken instead
        parts.append(_PRIVATE_USE_RE.sub("", text[at:span.start]))
        spoken.append(_sanitize_spoken(span.spoken))
        changes.append(Change(text[span.start:span.end], spoken[-1], span.why))
        parts.append(_placeholder(len(spoken) - 1))
        at = span.end
    parts.append(_PRIVATE_USE_RE.sub("", text[at:]))
    return "".join(parts)


def speak(text: str, lexicon: Sequence[tuple[str, str]] = (), language: str = "en",
          spans: Sequence[Span] = (), rules: Rules = ESPEAK_NG,
          ) -> tuple[str, tuple[Change, ...]]:
    """The spoken form of one sentence (see :func:`to_speech`) and every change made to it,
    by the shared rules and then the engine's own (`rules`).

    `spans` are parts of `text` whose spoken form markup gave (an ``<abbr title>``, an
    image's alt text spoken as nothing); they are parked before the lexicon runs. Each
    change names the written text, what is said instead ('' when nothing) and why.
    """
    if not isinstance(text, str) or not text:
        return "", ()
    spoken: list[str] = []
    changes: list[Change] = []
    text = clean_text(_park_spans(text, spans, spoken, changes))
    text = re.sub(r"\[{2,}", "[", text)
    text = re.sub(r"\]{2,}", "]", text)
    text = _apply_lexicon(text, lexicon, spoken, changes)

    english = _is_english(language)
    steps: list[tuple[Callable[[str], str], str | None]] = []
    if english:
        steps.append((_emails, "e-mail address"))
    steps.append((lambda t: _urls(t, english), "URL"))
    if english:
        steps.extend(_ENGLISH_RULES)
    steps.extend(RULES[name] for name in rules.extra)  # engines.speech_rules checked them
    steps.append((_remove_emoji, "emoji, not spoken"))
    steps.append((_remove_unsafe_keep_placeholders, None))
    for rule, why in steps:
        changed = rule(text)
        if why is not None:
            changes.extend(_differences(text, changed, why, spoken))
        text = changed

    text = _tidy(text)
    text = _PLACEHOLDER_RE.sub(lambda m: spoken[_placeholder_index(m.group())], text)
    text = _collapse(text)
    return (text, tuple(changes)) if _speakable(text) else ("", tuple(changes))


def to_speech(text: str, lexicon: Sequence[tuple[str, str]] = (), language: str = "en",
              rules: Rules = ESPEAK_NG) -> str:
    """Return the form sent to the engine for one sentence of written (clean) text.

    Applies, in this order: the lexicon (whole-word, case-sensitive matches of the
    written form, longest entries first, in a single pass, so a replacement is
    never substituted again; spoken forms, including espeak-ng inline phonemes
    such as ``[[t'i:]]``, pass through untouched); then the normalization of what
    espeak-ng 1.51 misreads (English only, apart from URLs); then the engine's own
    `rules` (every language); then removal of
    anything that must not reach the engine (controls, NUL, zero-width and format
    characters, emoji). ``[[``/``]]`` in the written text are defused before the
    lexicon runs, so a text cannot switch espeak-ng into phoneme mode. Never
    raises; returns ``''`` only if nothing speakable remains.
    """
    return speak(text, lexicon, language, rules=rules)[0]
