"""Parse a narration script (Markdown with YAML front matter) into a Script.

Every mistake in a script is a ScriptError naming the file and line; nothing
else escapes `parse_script` for any input.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import pls
from .errors import ScriptError
from .model import (
    BlockKind,
    Change,
    Chapter,
    EngineSettings,
    Pauses,
    Quotes,
    Rules,
    Run,
    Script,
    Sentence,
    Source,
    Span,
    Voice,
)
from .names import slugify, unique_slugs
from .quotes import quotation_ranges, runs
from .speech import check_lexicon, clean_text, speak, split_sentences

KNOWN_KEYS = {
    "title", "author", "byline", "source", "language", "narrator", "description",
    "slug", "content_note", "engine", "voice", "rate", "volume", "pauses", "lexicon",
    "lexicon_file", "quotes", "orientation", "engines",
}
QUOTES_KEYS = {"voice", "name", "rate", "min_words"}
ENGINE_KEYS = {"narrator", "voice", "rate", "volume"}
# What a chapter's spoken heading says first when the script asks for orientation.
ORIENTATION = {"en": "Chapter {number} of {count}.", "fr": "Chapitre {number} sur {count}.",
               "es": "Capítulo {number} de {count}.", "de": "Kapitel {number} von {count}."}
PAUSE_KEYS = {"sentence", "paragraph", "chapter", "lead_in", "tail"}
MAX_PAUSE_MS = 60_000
# Marks what `audioguide init` left for the author to write; a script holding one is refused.
PLACEHOLDER = "[TO WRITE:"
# The Nero chapter atom stores a title's length in one byte.
MAX_TITLE_BYTES = 255
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_COMMENT = re.compile(r"^\s*<!--(.*?)-->\s*$", re.S)
_PAUSE = re.compile(r"^\s*pause\b(.*)$", re.S | re.I)
_ENGINE = re.compile(r"^\s*engine\s*:(.*)$", re.S | re.I)
_ENGINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# How deep lists and block quotes may nest (a list level counts two): markdown-it's
# commonmark preset stops at 20 and skips whatever lies deeper without a word.
MAX_NESTING = 100
# Markdown's block markers: a line made only of these holds no text of its own.
_MARKERS_ONLY = re.compile(r"^(?:\s|>|[-*+_=#`~]|\d{1,9}[.)](?=\s|$))*$")
# The kinds of token whose source lines are read (or deliberately not spoken).
_LEAVES = {"inline", "html_block", "fence", "code_block", "hr", "definition"}


def parse_script(path: Path, engine: str | None = None) -> Script:
    """Read and parse the script at `path` as `engine` (default: its own) reads it, or raise
    ScriptError."""
    if not path.exists():
        raise ScriptError("no such script; check the path", path=path)
    if path.is_dir():
        raise ScriptError("is a folder, not a script file", path=path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read the script ({exc.strerror})", path=path) from None
    return parse_text(raw, path, engine)


def parse_text(raw: bytes, path: Path, engine: str | None = None) -> Script:
    """Parse the bytes of a script; `path` names it in errors and gives the default slug.

    The script is read as `engine` (default: the script's own) will narrate it: its
    spoken forms are made by that engine's speech rules, and the paragraphs marked for
    other engines (``<!-- engine: NAME -->``) are left out. With another engine than its
    own, the quote voice (the script's engine's) is not used, and the narrator line is
    the one the front matter's `engines:` gives that engine, or names the engine.
    """
    from .engines import speech_rules

    text = _decode(raw, path)
    front, body, body_line = _split_front_matter(text, path)
    meta = _FrontMatter(front, path)
    engine = engine or meta.voice.engine
    own = engine == meta.voice.engine
    rules = speech_rules(engine)
    quotes = meta.quotes if own else None
    chapters = _Body(body, body_line, meta, path, rules, engine, quotes).chapters()
    content_note = ""
    if meta.content_note is not None:
        # Titles are unique ignoring case, so a match ignoring case is unambiguous.
        match = [c for c in chapters if c.title.casefold() == meta.content_note.casefold()]
        if not match:
            raise ScriptError(
                f"content_note names a chapter {meta.content_note!r} that the script does not have",
                path=path, line=meta.line("content_note"),
            )
        content_note = " ".join(s.text for s in match[0].sentences[1:])
    script = Script(
        path=path,
        digest=_digest(raw, meta),
        slug=meta.slug or slugify(path.stem),
        title=meta.title,
        author=meta.author,
        source=meta.source,
        language=meta.language,
        narrator=meta.narrator,
        description=meta.description,
        content_note=content_note,
        lexicon=meta.lexicon,
        pauses=meta.pauses,
        voice=meta.voice,
        engines=meta.engines,
        chapters=chapters,
        quotes=quotes,
        orientation=meta.orientation,
        speech=rules,
        lexicon_origins=meta.lexicon_origins,
        raw=raw,
    )
    if own:
        return script
    return replace(script, narrator=script.settings_for(engine).narrator
                   or f"Synthetic voice: {engine}")


def for_engine(script: Script, engine: str) -> Script:
    """The script as `engine` reads it (see parse_text): itself for its own engine, read
    again from the same bytes for another."""
    if engine == script.voice.engine:
        return script
    return parse_text(script.raw, script.path, engine)


def _within(spans: Sequence[Span], start: int, end: int) -> list[Span]:
    """The spans inside `start:end` of a sentence, as offsets into that part."""
    return [Span(s.start - start, s.end - start, s.spoken, s.why)
            for s in spans if start <= s.start and s.end <= end]


def _digest(raw: bytes, meta: _FrontMatter) -> str:
    """The script's content address; with a PLS file, its entries count too."""
    digest = hashlib.sha256(raw)
    if meta.lexicon_file is not None:
        digest.update(repr(meta.lexicon).encode())
    return digest.hexdigest()


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _decode(raw: bytes, path: Path) -> str:
    if not raw.strip():
        raise ScriptError("the script is empty; it needs front matter and at least one ## chapter",
                          path=path, line=1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScriptError("is not UTF-8 text; save it as UTF-8", path=path, line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ScriptError("contains a NUL character; remove it", path=path, line=line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    lines = text.split("\n")
    if lines[0].strip() != "---":
        raise ScriptError("the script must start with YAML front matter between two '---' lines",
                          path=path, line=1)
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2
    raise ScriptError("the front matter is not closed; add a '---' line after it",
                      path=path, line=1)


def _duration_ms(value: Any) -> int | None:
    """Milliseconds from 250, '250ms' or '1.5s'; None when it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        number = float(m.group(1))
        ms = round(number * 1000) if m.group(2) == "s" else round(number)
    else:
        return None
    return ms if 0 <= ms <= MAX_PAUSE_MS else None


class _FrontMatter:
    """The validated front matter, with the line of every key for messages."""

    def __init__(self, text: str, path: Path):
        self.path = path
        self._lines: dict[str, int] = {}
        self._entry_lines: dict[str, list[int]] = {}
        data = self._load(text)
        self._check_keys(data)
        self.title = self._required(data, "title")
        if "author" in data and "byline" in data:
            raise ScriptError("give either author or byline, not both", path=path,
                              line=self.line("byline"))
        author_key = "byline" if "byline" in data else "author"
        self.author = self._required(data, author_key, label="author (or byline)")
        self.source = self._source(data)
        self.language = self._required(data, "language")
        if not _LANGUAGE.match(self.language):
            raise ScriptError(f"language {self.language!r} is not a BCP 47 tag such as en-US",
                              path=path, line=self.line("language"))
        self.narrator = self._required(data, "narrator")
        self.description = self._text(data, "description") or ""
        self.slug = self._slug(data)
        self.content_note = self._text(data, "content_note")
        self.voice = self._voice(data)
        self.engines = self._engines(data)
        self.quotes = self._quotes(data)
        self.orientation = self._orientation(data)
        self.pauses = self._pauses(data)
        self.lexicon_origins: tuple[tuple[Path, int], ...] = ()
        self.lexicon_file: str | None = None
        self.lexicon = self._lexicon(data)

    def line(self, key: str) -> int:
        return self._lines.get(key, 1)

    def _error(self, key: str, message: str) -> ScriptError:
        return ScriptError(message, path=self.path, line=self.line(key))

    def _load(self, text: str) -> dict[str, Any]:
        try:
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                if isinstance(node, yaml.MappingNode):
                    _lexicon_as_written(node)
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            problem = (exc.problem or exc.context or "malformed YAML").strip()
            # An unclosed quote or bracket is found only at the end of the front matter;
            # the line to fix is where it was opened.
            opened = "end of stream" in problem and exc.context_mark is not None
            if opened:
                problem = f"{exc.context}: it is never closed"
            mark = exc.context_mark if opened else exc.problem_mark or exc.context_mark
            line = mark.line + 2 if mark is not None else 1
            raise ScriptError(f"front matter is not valid YAML ({problem}); check the quotes "
                              "and indentation, and quote any value that contains ': '",
                              path=self.path, line=line) from None
        except RecursionError:
            raise ScriptError("front matter is nested too deeply; use plain key: value lines",
                              path=self.path, line=2) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 2
            raise ScriptError(f"front matter contains the control character U+{exc.character:04X}"
                              "; remove it", path=self.path, line=line) from None
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed YAML"
            raise ScriptError(f"front matter is not valid YAML: {first}", path=self.path,
                              line=1) from None
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
            raise ScriptError("front matter must be a mapping of keys to values (key: value)",
                              path=self.path, line=2)
        self._record_lines(node, "")
        return data

    def _record_lines(self, node: yaml.MappingNode, prefix: str) -> None:
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = prefix + str(key_node.value)
            if key in seen:
                raise ScriptError(f"front matter key {key!r} is given twice", path=self.path,
                                  line=key_node.start_mark.line + 2)
            seen.add(key)
            self._lines[key] = key_node.start_mark.line + 2
            self._entry_lines.setdefault(prefix, []).append(key_node.start_mark.line + 2)
            if isinstance(value_node, yaml.MappingNode) and prefix in ("", "engines."):
                self._record_lines(value_node, key + ".")

    def _check_keys(self, data: dict[str, Any]) -> None:
        for key in data:
            if not isinstance(key, str) or key not in KNOWN_KEYS:
                known = ", ".join(sorted(KNOWN_KEYS))
                raise self._error(str(key),
                                  f"unknown front matter key {key!r}; known keys: {known}")

    def _required(self, data: dict[str, Any], key: str, label: str | None = None) -> str:
        value = self._text(data, key, required=True, label=label)
        assert value is not None  # _text raised otherwise
        return value

    def _text(self, data: dict[str, Any], key: str, *, required: bool = False,
              label: str | None = None, prefix: str = "") -> str | None:
        if key not in data or data[key] is None:
            if required:
                raise ScriptError(f"front matter needs {label or key}", path=self.path, line=1)
            return None
        value = data[key]
        name = prefix + key
        if not isinstance(value, str):
            raise self._error(name, f"{name} must be text; put it in quotes")
        value = clean_text(value)
        if PLACEHOLDER in value:
            raise self._error(name, f"{name} is still a placeholder; replace {value!r} with "
                              "the text")
        if not value and required:
            raise self._error(name, f"{name} is empty")
        return value

    def _source(self, data: dict[str, Any]) -> Source:
        value = data.get("source")
        if isinstance(value, str) and value.strip():
            return Source(name=self._required(data, "source"))
        if isinstance(value, dict):
            unknown = set(value) - {"name", "url"}
            if unknown:
                first = sorted(map(str, unknown))[0]
                raise self._error("source", f"source has unknown key {first!r}; "
                                  "it takes name and url")
            name, url = value.get("name"), value.get("url", "")
            if not isinstance(name, str) or not name.strip():
                raise self._error("source", "source needs a name (the publication)")
            if PLACEHOLDER in name:
                raise self._error("source.name", f"source name is still a placeholder; "
                                  f"replace {clean_text(name)!r} with the text")
            if not isinstance(url, str):
                raise self._error("source.url", "source url must be text")
            url = url.strip()
            if url and not re.match(r"^https?://[^\s<>\"']+$", url):
                raise self._error("source.url", "source url must start with http:// or https://")
            return Source(name=clean_text(name), url=url)
        if value is None:
            raise ScriptError("front matter needs source (name and url of the publication)",
                              path=self.path, line=1)
        raise self._error("source", "source must be text or a mapping with name and url")

    def _slug(self, data: dict[str, Any]) -> str | None:
        value = self._text(data, "slug")
        if value is None:
            return None
        if slugify(value) != value:
            raise self._error("slug", "slug must be lowercase letters, digits and hyphens, "
                              f"such as {slugify(value)!r}")
        return value

    def _voice(self, data: dict[str, Any], prefix: str = "") -> Voice:
        voice = self._text(data, "voice", prefix=prefix)
        rate = data.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)
                                 or not 80 <= rate <= 450):
            raise self._error(prefix + "rate", f"{prefix}rate must be a whole number of words "
                              "per minute, 80 to 450")
        volume = data.get("volume")
        if volume is not None and (isinstance(volume, bool) or not isinstance(volume, (int, float))
                                   or not 0 < volume <= 1):
            raise self._error(prefix + "volume", f"{prefix}volume must be a number above 0 "
                              "and at most 1")
        engine = None if prefix else self._text(data, "engine")
        return Voice(engine=engine or Voice.engine, voice=voice, rate=rate,
                     volume=float(volume) if volume is not None else None)

    def _engines(self, data: dict[str, Any]) -> tuple[tuple[str, EngineSettings], ...]:
        value = data.get("engines")
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self._error("engines", "engines must be a mapping of engine name to its "
                              "settings, such as  piper: {narrator: \"Synthetic voice: Piper\"}")
        found = []
        for name, settings in value.items():
            key = f"engines.{name}"
            if not isinstance(name, str) or not isinstance(settings, dict):
                raise self._error(key, f"{key} must be a mapping of settings: "
                                  + ", ".join(sorted(ENGINE_KEYS)))
            if name == self.voice.engine:
                raise self._error(key, f"{key} is the script's own engine; give its settings "
                                  "(narrator, voice, rate, volume) at the top of the front matter")
            for setting in settings:
                if setting not in ENGINE_KEYS:
                    raise self._error(f"{key}.{setting}", f"{key} has unknown key {setting!r}; "
                                      "it takes " + ", ".join(sorted(ENGINE_KEYS)))
            voice = self._voice(settings, prefix=key + ".")
            narrator = self._text(settings, "narrator", prefix=key + ".")
            found.append((name, EngineSettings(narrator, voice.voice, voice.rate, voice.volume)))
        return tuple(found)

    def _quotes(self, data: dict[str, Any]) -> Quotes | None:
        value = data.get("quotes")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._error("quotes", "quotes must be a mapping such as  voice: en-us+f3")
        for key in value:
            if key not in QUOTES_KEYS:
                raise self._error(f"quotes.{key}", f"quotes has unknown key {key!r}; it takes "
                                  + ", ".join(sorted(QUOTES_KEYS)))
        voice = value.get("voice")
        if not isinstance(voice, str) or not voice.strip():
            raise self._error("quotes", "quotes needs a voice for quoted speech, such as "
                              "voice: en-us+f3 (`audioguide voices` lists them)")
        name = value.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self._error("quotes.name", "quotes name must be text: how the credits name "
                              "the voice, such as \"eSpeak NG, US English, female variant\"")
        rate = value.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)
                                 or not 80 <= rate <= 450):
            raise self._error("quotes.rate", "quotes rate must be a whole number of words per "
                              "minute, 80 to 450")
        min_words = value.get("min_words", Quotes.min_words)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 1:
            raise self._error("quotes.min_words", "quotes min_words must be a whole number, "
                              "1 or more")
        voice = voice.strip()
        return Quotes(voice=voice, name=clean_text(name) if name else f"a second synthetic "
                      f"voice ({voice})", rate=rate, min_words=min_words,
                      line=self.line("quotes.voice"))

    def _orientation(self, data: dict[str, Any]) -> bool:
        value = data.get("orientation", False)
        if not isinstance(value, bool):
            raise self._error("orientation", "orientation must be true or false")
        if value and self.language.split("-")[0].lower() not in ORIENTATION:
            raise self._error("orientation", "orientation can say the chapter's place only in "
                              + ", ".join(sorted(ORIENTATION)) + f", not {self.language!r}; "
                              "remove it")
        return value

    def _pauses(self, data: dict[str, Any]) -> Pauses:
        value = data.get("pauses")
        if value is None:
            return Pauses()
        if not isinstance(value, dict):
            raise self._error("pauses", "pauses must be a mapping such as  sentence: 250ms")
        lengths = {}
        for key, raw in value.items():
            if key not in PAUSE_KEYS:
                raise self._error(f"pauses.{key}", f"unknown pause {key!r}; pauses are "
                                  + ", ".join(sorted(PAUSE_KEYS)))
            ms = _duration_ms(raw)
            if ms is None:
                raise self._error(f"pauses.{key}", f"pause {key} must be a length such as 250ms "
                                  f"or 1.5s (at most {MAX_PAUSE_MS // 1000}s), not {raw!r}")
            lengths[f"{key}_ms"] = ms
        return Pauses(**lengths)

    def _lexicon(self, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """The PLS file's entries, then the front matter's (which win over the file's)."""
        entries: dict[str, str] = {}
        origins: dict[str, tuple[Path, int]] = {}
        file = self.lexicon_file = self._text(data, "lexicon_file")
        if file is not None:
            pls_path = self.path.parent / file
            if Path(file).is_absolute() or ".." in Path(file).parts:
                raise self._error("lexicon_file", "lexicon_file must name a file next to the "
                                  "script (or in a folder beside it), such as names.pls")
            for entry in pls.read(pls_path):
                entries[entry.written] = entry.spoken
                origins[entry.written] = (pls_path, entry.line)
        value = data.get("lexicon")
        if value is not None and not isinstance(value, dict):
            raise self._error("lexicon", "lexicon must be a mapping of written form to spoken form")
        for index, (written, spoken) in enumerate((value or {}).items()):
            line = self._entry_lines["lexicon."][index]
            if not isinstance(written, str) or not isinstance(spoken, str):
                raise ScriptError(f"lexicon entry {written!r} must map text to text; "
                                  "remove the tag or put it in quotes", path=self.path, line=line)
            if len(spoken) > 2 and spoken[0] == spoken[-1] == "/":  # IPA, as dictionaries write it
                espeak = pls.from_ipa(spoken[1:-1], self.path, line,
                                      "write it in espeak-ng phonemes, [[...]]")
                spoken = f"[[{espeak}]]"
            entries.pop(written, None)  # re-inserted last: the front matter's order stays
            entries[written] = spoken
            origins[written] = (self.path, line)
        problem = check_lexicon(entries)
        if problem:
            # Only the quoted form: a short entry such as 'e' occurs in any message.
            bad = next((w for w in entries if repr(w) in problem), None)
            where, line = origins[bad] if bad else (self.path, self.line("lexicon"))
            raise ScriptError(problem, path=where, line=line)
        self.lexicon_origins = tuple(origins[w] for w in entries)
        return tuple(entries.items())


_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML is untyped
    """The safe loader, remembering which scalars had no tag written on them."""

    def compose_scalar_node(self, anchor: str | None) -> yaml.ScalarNode:
        tag = self.peek_event().tag
        node = super().compose_scalar_node(anchor)
        node.untagged = tag in (None, "!")
        return node


def _lexicon_as_written(root: yaml.MappingNode) -> None:
    """Read the lexicon's words as the text written: YAML 1.1 would make NO a boolean.

    Only scalars without a written tag are read as text; `!!bool yes` stays what the
    author asked for, and is refused as a key that is not text.
    """
    for key_node, value_node in root.value:
        if key_node.value != "lexicon" or not isinstance(value_node, yaml.MappingNode):
            continue
        for entry in value_node.value:
            for scalar in entry:
                if isinstance(scalar, yaml.ScalarNode) and getattr(scalar, "untagged", False):
                    scalar.tag = _STR_TAG


@dataclass
class _Pause:
    ms: int
    line: int


@dataclass
class _Only:
    """`<!-- engine: NAME, ... -->`: the next paragraph is only for these engines' editions."""

    engines: frozenset[str]
    line: int


@dataclass(frozen=True)
class _Mark:
    """Part of a block that markup says to speak otherwise, and where its raw text starts."""

    written: str
    spoken: str
    why: str
    raw_offset: int


@dataclass
class _Block:
    kind: BlockKind
    line: int
    text: str
    marks: tuple[_Mark, ...] = ()
    raw: str = ""  # the text before cleaning, which the marks' offsets count in


class _Body:
    """Walks markdown-it tokens into chapters of sentences."""

    def __init__(self, body: str, first_line: int, meta: _FrontMatter, path: Path,
                 rules: Rules, engine: str, quotes: Quotes | None):
        parser = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING,
                                           "inline_definitions": True})
        self.tokens = parser.parse(body)
        self.first_line = first_line
        self.meta = meta
        self.rules = rules
        self.engine = engine
        self.quotes = quotes
        self.left_out = False  # whether the chapter being read left out another engine's text
        self.path = path
        self._check_coverage(body)

    def _check_coverage(self, body: str) -> None:
        """No line of text may be skipped by the parser without a word."""
        covered: set[int] = set()
        for token in self.tokens:
            if token.type in _LEAVES and token.map:
                covered.update(range(*token.map))
        for number, line in enumerate(body.split("\n")):
            if number in covered or _MARKERS_ONLY.match(line):
                continue
            where = self.first_line + number
            if max((t.level for t in self.tokens), default=0) >= MAX_NESTING - 1:
                raise ScriptError("nesting too deep; flatten the lists and block quotes "
                                  "around this line", path=self.path, line=where)
            raise ScriptError("this text would not be read (the Markdown parser skipped "
                              "it); rewrite it as a plain paragraph", path=self.path, line=where)

    def _line(self, token: Token) -> int:
        return self.first_line + (token.map[0] if token.map else 0)

    def _error(self, token: Token, message: str) -> ScriptError:
        return ScriptError(message, path=self.path, line=self._line(token))

    def chapters(self) -> tuple[Chapter, ...]:
        raw: list[tuple[str, int, list[_Block | _Pause | _Only]]] = []
        for item in self._items():
            if isinstance(item, _Block) and item.kind == "heading":
                title = item.text
                for other, other_line, _ in raw:
                    if other.casefold() == title.casefold():
                        raise ScriptError(f"chapter title {title!r} is already used at line "
                                          f"{other_line}; titles must be unique",
                                          path=self.path, line=item.line)
                raw.append((title, item.line, [item]))
            elif not raw:
                line = item.line
                raise ScriptError("text before the first chapter; start the body with a "
                                  "'## Chapter title' heading", path=self.path, line=line)
            else:
                raw[-1][2].append(item)
        if not raw:
            raise ScriptError("the script has no chapters; each chapter starts with '## Title'",
                              path=self.path, line=self.first_line)
        slugs = unique_slugs([title for title, _, _ in raw])
        chapters = []
        numbered = enumerate(zip(raw, slugs, strict=True), start=1)
        for number, ((_, _, items), slug) in numbered:
            heading, *rest = items
            assert isinstance(heading, _Block)
            chapters.append(self._chapter(number, heading, slug, self._for_engine(rest),
                                          len(raw)))
        return tuple(chapters)

    def _for_engine(self, items: list[_Block | _Pause | _Only]) -> list[_Block | _Pause]:
        """A chapter's items without the paragraphs marked for other engines (and the pause
        directives that follow them)."""
        kept: list[_Block | _Pause] = []
        only: _Only | None = None
        skipping = False
        self.left_out = False
        for item in items:
            if isinstance(item, _Only):
                if only is not None:
                    raise ScriptError("two engine directives in a row; give the names in one, "
                                      "such as <!-- engine: piper, pyttsx3 -->",
                                      path=self.path, line=item.line)
                only = item
            elif isinstance(item, _Pause):
                if only is not None:
                    raise ScriptError("an engine directive must stand right before the "
                                      "paragraph it marks", path=self.path, line=only.line)
                if not skipping:
                    kept.append(item)
            else:
                skipping = only is not None and self.engine not in only.engines
                self.left_out |= skipping
                only = None
                if not skipping:
                    kept.append(item)
        if only is not None:
            raise ScriptError("an engine directive must stand right before the paragraph it "
                              "marks, in the same chapter", path=self.path, line=only.line)
        return kept

    def _chapter(self, number: int, heading: _Block, slug: str,
                 items: list[_Block | _Pause], count: int) -> Chapter:
        pauses = self.meta.pauses
        lexicon = self.meta.lexicon
        language = self.meta.language
        quotes = self.quotes
        rules = self.rules
        sentences: list[Sentence] = []
        title, line = heading.text, heading.line
        last = number == count

        def add(text: str, spans: list[Span], sentence_line: int, block: int, kind: BlockKind,
                pause: int, ranges: Sequence[tuple[int, int]] = (), at: int = 0) -> None:
            spoken, changes = speak(text, lexicon, language, spans, rules)
            voiced: tuple[Run, ...] = ()
            if ranges:
                found: list[Change] = []

                def piece(part: str, start: int, end: int) -> str:
                    said, made = speak(part, lexicon, language, _within(spans, start, end),
                                       rules)
                    found.extend(made)
                    return said

                voiced = runs(text, at, ranges, piece)
                if voiced:
                    spoken = " ".join(r.spoken for r in voiced)
                    changes = tuple(found)
            if kind == "heading" and spoken and self.meta.orientation:
                where = ORIENTATION[language.split("-")[0].lower()]
                spoken = f"{where.format(number=number, count=count)} {spoken}"
            # Text with nothing to speak (emoji, punctuation) is kept for readers: the
            # captions, transcript and books show it; only a heading must be spoken.
            if spoken or (kind != "heading" and text):
                sentence_id = f"c{number:02d}s{len(sentences):03d}"
                sentences.append(Sentence(sentence_id, text, spoken, sentence_line, block, kind,
                                          pause, changes, voiced))

        add(title, _spans(title, heading.marks, heading.raw)[0], line, 0, "heading",
            pauses.paragraph_ms)
        if not sentences:
            raise ScriptError(f"chapter title {title!r} has nothing speakable",
                              path=self.path, line=line)
        block_number = 0
        for item in items:
            if isinstance(item, _Pause):
                # A pause directive sets the silence after the sentence before it.
                sentences[-1] = replace(sentences[-1], pause_after_ms=item.ms)
                continue
            block_number += 1
            parts = split_sentences(item.text, language, [w for w, _ in lexicon])
            spans = _spans(item.text, item.marks, item.raw, parts)
            ranges = quotation_ranges(item.text, quotes.min_words) if quotes else []
            starts = _starts(item.text, parts)
            for i, part in enumerate(parts):
                pause = pauses.paragraph_ms if i == len(parts) - 1 else pauses.sentence_ms
                add(part, spans[i], item.line, block_number, item.kind, pause, ranges, starts[i])
        if len(sentences) == 1:  # written-only text counts: the chapter speaks its heading
            which = f" for the {self.engine} edition" if self.left_out else ""
            raise ScriptError(f"chapter {title!r} has no text{which}; add some or remove the "
                              "heading", path=self.path, line=line)
        if not isinstance(items[-1], _Pause):
            sentences[-1] = replace(sentences[-1], pause_after_ms=0 if last else pauses.chapter_ms)
        return Chapter(number, title, slug, line, tuple(sentences))

    def _items(self) -> Iterator[_Block | _Pause | _Only]:
        """Headings and text blocks as _Block; pause directives as their length in ms;
        engine directives as the engines they name."""
        tokens = self.tokens
        kinds: list[BlockKind] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            kind = token.type
            if kind == "heading_open":
                if token.tag != "h2":
                    level = int(token.tag[1])
                    raise self._error(token, f"{'#' * level} headings are not used; chapters are "
                                      "'## Title' and the book title comes from front matter")
                raw_title, marks = self._inline_text(tokens[i + 1])
                title = clean_text(raw_title)
                if not title:
                    raise self._error(token, "a chapter heading needs a title")
                if len(title.encode()) > MAX_TITLE_BYTES:
                    raise self._error(token, f"chapter title is too long for the players' "
                                      f"chapter menus (at most {MAX_TITLE_BYTES} bytes); "
                                      "shorten it")
                yield _Block("heading", self._line(token), title, marks, raw_title)
                i += 3
                continue
            if kind in ("blockquote_open", "bullet_list_open", "ordered_list_open"):
                kinds.append("quote" if kind == "blockquote_open" else "list")
            elif kind in ("blockquote_close", "bullet_list_close", "ordered_list_close"):
                kinds.pop()
            elif kind == "inline":
                raw_text, marks = self._inline_text(token)
                text = clean_text(raw_text)
                if PLACEHOLDER in text:
                    raise self._error(token, "a placeholder is still to be written; replace "
                                      f"{_shorten(text[text.index(PLACEHOLDER):])!r} with text")
                if text:
                    block_kind: BlockKind = kinds[-1] if kinds else "paragraph"
                    yield _Block(block_kind, self._line(token), text, marks, raw_text)
            elif kind == "html_block":
                directive = self._directive(token)
                if directive is not None:
                    yield directive
            elif kind in ("fence", "code_block"):
                raise self._error(token, "code blocks are not spoken; write the text as a "
                                  "paragraph, or remove it")
            i += 1

    def _directive(self, token: Token) -> _Pause | _Only | None:
        match = _COMMENT.match(token.content)
        if not match:
            raise self._error(token, "raw HTML is not spoken; use Markdown, or "
                              "<!-- pause 2s --> for a pause")
        engine = _ENGINE.match(match.group(1))
        if engine:
            names = [name.strip() for name in engine.group(1).split(",")]
            if not all(_ENGINE_NAME.match(name) for name in names):
                raise self._error(token, f"malformed engine directive "
                                  f"{token.content.strip()!r}; write <!-- engine: piper --> or "
                                  "<!-- engine: piper, pyttsx3 -->")
            return _Only(frozenset(names), self._line(token))
        pause = _PAUSE.match(match.group(1))
        if not pause:
            return None  # an author's comment: not spoken
        ms = _duration_ms(pause.group(1).strip())
        if ms is None or ms == 0:
            raise self._error(token, f"malformed pause directive {token.content.strip()!r}; "
                              f"write <!-- pause 2s --> or <!-- pause 800ms --> "
                              f"(at most {MAX_PAUSE_MS // 1000}s)")
        return _Pause(ms, self._line(token))

    def _inline_text(self, token: Token) -> tuple[str, tuple[_Mark, ...]]:
        """The text of an inline run and the parts that markup says to speak otherwise."""
        reader = _InlineHtml(lambda message: self._error(token, message))
        for child in token.children or []:
            if child.type == "html_inline":
                reader.tag(child.content)
            elif child.type in ("text", "code_inline"):
                reader.text(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                reader.text(" ")
            elif child.type == "image":
                reader.text(child.content)
        return reader.finish()


# Inline elements read as their text.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span "
    "strong sub sup time u var br wbr img".split()
)
# Elements whose content is never read, shown or spoken.
_DROPPED_TAGS = frozenset(
    "script style iframe object embed noscript template svg math canvas video audio "
    "textarea select".split()
)


class _InlineHtml:
    """Inline HTML inside a Markdown paragraph, read with the standard library's HTML parser.

    Common inline elements give their text; `<abbr title>` gives the spoken form of its
    text; `<img>` gives its alt text to readers and nothing to the voice; scripts, styles,
    frames and objects give nothing at all. Anything else is refused by `error`.
    """

    def __init__(self, error: Callable[[str], ScriptError]):
        self.error = error
        self.parts: list[str] = []
        self.marks: list[_Mark] = []
        self.dropped: list[str] = []
        self.abbrs: list[tuple[int, str | None]] = []

    def text(self, text: str) -> None:
        if not self.dropped:
            self.parts.append(text)

    def tag(self, html: str) -> None:
        comment = _COMMENT.match(html)
        if comment is not None:
            if _PAUSE.match(comment.group(1)):
                raise self.error("a pause directive must be on a line of its own, "
                                 "with blank lines around it")
            return
        events = _TagReader.read(html)
        if len(events) != 1:
            raise self.error(f"raw HTML {html!r} is not read; use Markdown, or write the "
                             "text without it")
        kind, name, attrs = events[0]
        if self.dropped:
            if kind == "end" and name == self.dropped[-1]:
                self.dropped.pop()
            elif kind == "start" and name in _DROPPED_TAGS:
                self.dropped.append(name)
            return
        if name in _DROPPED_TAGS:
            if kind == "start":
                self.dropped.append(name)
            return
        if name not in _INLINE_TAGS:
            raise self.error(f"raw HTML <{name}> is not spoken; use Markdown, or write the "
                             "text without it")
        if name == "br" or name == "wbr":
            self.parts.append(" " if name == "br" else "")
        elif name == "img" and kind != "end":
            alt = clean_text(attrs.get("alt") or "")
            if alt:
                self.parts.append(f" {alt} ")
                self.marks.append(_Mark(alt, "", "image alt text, shown but not spoken",
                                        len("".join(self.parts[:-1]))))
        elif name == "abbr" and kind == "start":
            self.abbrs.append((len(self.parts), attrs.get("title")))
        elif name == "abbr" and kind == "end" and self.abbrs:
            start, title = self.abbrs.pop()
            written = clean_text("".join(self.parts[start:]))
            if title and clean_text(title) and written:
                self.marks.append(_Mark(written, clean_text(title), "abbr title",
                                        len("".join(self.parts[:start]))))

    def finish(self) -> tuple[str, tuple[_Mark, ...]]:
        if self.dropped:
            raise self.error(f"<{self.dropped[-1]}> is never closed, so the rest of the "
                             f"paragraph would be lost; add </{self.dropped[-1]}>")
        return "".join(self.parts), tuple(self.marks)


class _TagReader(html.parser.HTMLParser):
    """The start and end tags in a piece of HTML, attributes decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, str, dict[str, str | None]]] = []

    @classmethod
    def read(cls, html_text: str) -> list[tuple[str, str, dict[str, str | None]]]:
        reader = cls()
        reader.feed(html_text)
        reader.close()
        return reader.events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("empty", tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag, {}))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data, {}))


def _starts(text: str, parts: list[str]) -> list[int]:
    """Where each sentence of a block starts in the block's text."""
    starts: list[int] = []
    cursor = 0
    for part in parts:
        at = text.find(part, cursor)
        starts.append(at if at >= 0 else cursor)
        cursor = starts[-1] + len(part)
    return starts


def _spans(text: str, marks: tuple[_Mark, ...], raw: str,
           parts: list[str] | None = None) -> list[list[Span]]:
    """For each sentence of a block, the spans its marks cover.

    `text` is the clean form of `raw`; a mark is looked for from where the clean form
    of the raw text before it ends. A mark across two sentences is left to the rules.
    """
    parts = parts if parts is not None else [text]
    starts = _starts(text, parts)
    result: list[list[Span]] = [[] for _ in parts]
    for mark in sorted(marks, key=lambda m: m.raw_offset):
        at = text.find(mark.written, max(0, len(clean_text(raw[:mark.raw_offset])) - 1))
        if at < 0:
            continue
        end = at + len(mark.written)
        for i, (start, part) in enumerate(zip(starts, parts, strict=True)):
            if start <= at and end <= start + len(part):
                result[i].append(Span(at - start, end - start, mark.spoken, mark.why))
                break
    return result
