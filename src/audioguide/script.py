"""Parse a narration script (Markdown with YAML front matter) into a Script.

Every mistake in a script is a ScriptError naming the file and line; nothing
else escapes `parse_script` for any input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .errors import ScriptError
from .model import BlockKind, Chapter, Pauses, Script, Sentence, Source, Voice
from .names import slugify, unique_slugs
from .speech import check_lexicon, clean_text, split_sentences, to_speech

KNOWN_KEYS = {
    "title", "author", "byline", "source", "language", "narrator", "description",
    "slug", "content_note", "voice", "rate", "volume", "pauses", "lexicon",
}
PAUSE_KEYS = {"sentence", "paragraph", "chapter", "lead_in", "tail"}
MAX_PAUSE_MS = 60_000
# The Nero chapter atom stores a title's length in one byte.
MAX_TITLE_BYTES = 255
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_COMMENT = re.compile(r"^\s*<!--(.*?)-->\s*$", re.S)
_PAUSE = re.compile(r"^\s*pause\b(.*)$", re.S | re.I)
# How deep lists and block quotes may nest (a list level counts two): markdown-it's
# commonmark preset stops at 20 and skips whatever lies deeper without a word.
MAX_NESTING = 100
# Markdown's block markers: a line made only of these holds no text of its own.
_MARKERS_ONLY = re.compile(r"^(?:\s|>|[-*+_=#`~]|\d{1,9}[.)](?=\s|$))*$")
# The kinds of token whose source lines are read (or deliberately not spoken).
_LEAVES = {"inline", "html_block", "fence", "code_block", "hr", "definition"}


def parse_script(path: Path) -> Script:
    """Read and parse the script at `path`, or raise ScriptError."""
    if not path.exists():
        raise ScriptError("no such script; check the path", path=path)
    if path.is_dir():
        raise ScriptError("is a folder, not a script file", path=path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read the script ({exc.strerror})", path=path) from None
    return parse_text(raw, path)


def parse_text(raw: bytes, path: Path) -> Script:
    """Parse the bytes of a script; `path` names it in errors and gives the default slug."""
    text = _decode(raw, path)
    front, body, body_line = _split_front_matter(text, path)
    meta = _FrontMatter(front, path)
    chapters = _Body(body, body_line, meta, path).chapters()
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
    return Script(
        path=path,
        digest=hashlib.sha256(raw).hexdigest(),
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
        chapters=chapters,
    )


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
        self.pauses = self._pauses(data)
        self.lexicon = self._lexicon(data)

    def line(self, key: str) -> int:
        return self._lines.get(key, 1)

    def _error(self, key: str, message: str) -> ScriptError:
        return ScriptError(message, path=self.path, line=self.line(key))

    def _load(self, text: str) -> dict[str, Any]:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
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
            if isinstance(value_node, yaml.MappingNode) and not prefix:
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
              label: str | None = None) -> str | None:
        if key not in data or data[key] is None:
            if required:
                raise ScriptError(f"front matter needs {label or key}", path=self.path, line=1)
            return None
        value = data[key]
        if not isinstance(value, str):
            raise self._error(key, f"{key} must be text; put it in quotes")
        value = clean_text(value)
        if not value and required:
            raise self._error(key, f"{key} is empty")
        return value

    def _source(self, data: dict[str, Any]) -> Source:
        value = data.get("source")
        if isinstance(value, str) and value.strip():
            return Source(name=clean_text(value))
        if isinstance(value, dict):
            unknown = set(value) - {"name", "url"}
            if unknown:
                first = sorted(map(str, unknown))[0]
                raise self._error("source", f"source has unknown key {first!r}; "
                                  "it takes name and url")
            name, url = value.get("name"), value.get("url", "")
            if not isinstance(name, str) or not name.strip():
                raise self._error("source", "source needs a name (the publication)")
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

    def _voice(self, data: dict[str, Any]) -> Voice:
        voice = self._text(data, "voice")
        rate = data.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)
                                 or not 80 <= rate <= 450):
            raise self._error("rate", "rate must be a whole number of words per minute, 80 to 450")
        volume = data.get("volume")
        if volume is not None and (isinstance(volume, bool) or not isinstance(volume, (int, float))
                                   or not 0 < volume <= 1):
            raise self._error("volume", "volume must be a number above 0 and at most 1")
        return Voice(voice=voice, rate=rate, volume=float(volume) if volume is not None else None)

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
        value = data.get("lexicon")
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self._error("lexicon", "lexicon must be a mapping of written form to spoken form")
        entries: dict[str, str] = {}
        for written, spoken in value.items():
            key = f"lexicon.{written}"
            if not isinstance(written, (str, int)) or not isinstance(spoken, (str, int)):
                raise self._error(key, f"lexicon entry {written!r} must map text to text")
            entries[str(written)] = str(spoken)
        problem = check_lexicon(entries)
        if problem:
            # Only the quoted form: a short entry such as 'e' occurs in any message.
            bad = next((w for w in entries if repr(w) in problem), None)
            raise self._error(f"lexicon.{bad}" if bad else "lexicon", problem)
        return tuple(entries.items())


@dataclass
class _Pause:
    ms: int
    line: int


@dataclass
class _Block:
    kind: BlockKind
    line: int
    text: str


class _Body:
    """Walks markdown-it tokens into chapters of sentences."""

    def __init__(self, body: str, first_line: int, meta: _FrontMatter, path: Path):
        parser = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING,
                                           "inline_definitions": True})
        self.tokens = parser.parse(body)
        self.first_line = first_line
        self.meta = meta
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
        raw: list[tuple[str, int, list[_Block | _Pause]]] = []
        for item in self._items():
            if isinstance(item, _Block) and item.kind == "heading":
                title = item.text
                for other, other_line, _ in raw:
                    if other.casefold() == title.casefold():
                        raise ScriptError(f"chapter title {title!r} is already used at line "
                                          f"{other_line}; titles must be unique",
                                          path=self.path, line=item.line)
                raw.append((title, item.line, []))
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
        for number, ((title, line, items), slug) in numbered:
            chapters.append(self._chapter(number, title, slug, line, items,
                                          last=number == len(raw)))
        return tuple(chapters)

    def _chapter(self, number: int, title: str, slug: str, line: int,
                 items: list[_Block | _Pause], last: bool) -> Chapter:
        pauses = self.meta.pauses
        lexicon = self.meta.lexicon
        language = self.meta.language
        sentences: list[Sentence] = []

        def add(text: str, sentence_line: int, block: int, kind: BlockKind, pause: int) -> None:
            spoken = to_speech(text, lexicon, language)
            # Text with nothing to speak (emoji, punctuation) is kept for readers: the
            # captions, transcript and books show it; only a heading must be spoken.
            if spoken or (kind != "heading" and text):
                sentence_id = f"c{number:02d}s{len(sentences):03d}"
                sentences.append(Sentence(sentence_id, text, spoken, sentence_line, block, kind,
                                          pause))

        add(title, line, 0, "heading", pauses.paragraph_ms)
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
            for i, part in enumerate(parts):
                pause = pauses.paragraph_ms if i == len(parts) - 1 else pauses.sentence_ms
                add(part, item.line, block_number, item.kind, pause)
        if len(sentences) == 1:  # written-only text counts: the chapter speaks its heading
            raise ScriptError(f"chapter {title!r} has no text; add some or remove the heading",
                              path=self.path, line=line)
        if not isinstance(items[-1], _Pause):
            sentences[-1] = replace(sentences[-1], pause_after_ms=0 if last else pauses.chapter_ms)
        return Chapter(number, title, slug, line, tuple(sentences))

    def _items(self) -> Iterator[_Block | _Pause]:
        """Headings and text blocks as _Block; pause directives as their length in ms."""
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
                title = clean_text(self._inline_text(tokens[i + 1]))
                if not title:
                    raise self._error(token, "a chapter heading needs a title")
                if len(title.encode()) > MAX_TITLE_BYTES:
                    raise self._error(token, f"chapter title is too long for the players' "
                                      f"chapter menus (at most {MAX_TITLE_BYTES} bytes); "
                                      "shorten it")
                yield _Block("heading", self._line(token), title)
                i += 3
                continue
            if kind in ("blockquote_open", "bullet_list_open", "ordered_list_open"):
                kinds.append("quote" if kind == "blockquote_open" else "list")
            elif kind in ("blockquote_close", "bullet_list_close", "ordered_list_close"):
                kinds.pop()
            elif kind == "inline":
                text = clean_text(self._inline_text(token))
                if text:
                    block_kind: BlockKind = kinds[-1] if kinds else "paragraph"
                    yield _Block(block_kind, self._line(token), text)
            elif kind == "html_block":
                directive = self._directive(token)
                if directive is not None:
                    yield directive
            elif kind in ("fence", "code_block"):
                raise self._error(token, "code blocks are not spoken; write the text as a "
                                  "paragraph, or remove it")
            i += 1

    def _check_inline_html(self, token: Token, html: str) -> None:
        """Inline HTML would vanish from speech and text without a word; say so instead."""
        comment = _COMMENT.match(html)
        if comment is None:
            raise self._error(token, f"raw HTML {html!r} is not spoken; use Markdown, or "
                              "write the text without it")
        if _PAUSE.match(comment.group(1)):
            raise self._error(token, "a pause directive must be on a line of its own, "
                              "with blank lines around it")

    def _directive(self, token: Token) -> _Pause | None:
        match = _COMMENT.match(token.content)
        if not match:
            raise self._error(token, "raw HTML is not spoken; use Markdown, or "
                              "<!-- pause 2s --> for a pause")
        pause = _PAUSE.match(match.group(1))
        if not pause:
            return None  # an author's comment: not spoken
        ms = _duration_ms(pause.group(1).strip())
        if ms is None or ms == 0:
            raise self._error(token, f"malformed pause directive {token.content.strip()!r}; "
                              f"write <!-- pause 2s --> or <!-- pause 800ms --> "
                              f"(at most {MAX_PAUSE_MS // 1000}s)")
        return _Pause(ms, self._line(token))

    def _inline_text(self, token: Token) -> str:
        parts: list[str] = []
        for child in token.children or []:
            if child.type == "html_inline":
                self._check_inline_html(token, child.content)
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            elif child.type == "image":
                parts.append(child.content)
        return "".join(parts)
