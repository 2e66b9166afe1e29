"""Draft a narration script from an article: plain text, Markdown or HTML.

The draft holds what the article holds: its title, author, publication and language
when the source says so, its headings as chapters (the text before the first heading
as an opening chapter), its paragraphs, quotes and lists. What only the author can
write (a content note, the credits, anything the source does not say) is a
placeholder, ``[TO WRITE: ...]``, which the script parser refuses until it is written.
Every guess is returned as a note naming the source line, so the author knows what
to check.
"""

from __future__ import annotations

import html
import html.parser
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from .errors import UsageError
from .files import write_whole
from .names import slugify
from .script import MAX_TITLE_BYTES, PLACEHOLDER

OPENING = "Introduction"
CONTENT_NOTE = "Content note"
CREDITS = "Credits"
MAX_HEADING_CHARS = 100
_SENTENCE_END = tuple('.!?:;,…"”’)')
# "FrancisLMFT": a name glued to the initialism after it where markup was lost.
_GLUED = re.compile(r"\b([A-Z][a-z]+)([A-Z]{2,})\b")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s", re.M)
_HTML_START = re.compile(r"^\s*(<!doctype html|<html|<head|<body|<article|<main|<p[\s>])", re.I)


def placeholder(what: str) -> str:
    return f"{PLACEHOLDER} {what}]"


@dataclass
class Article:
    """What a source holds, before it is written out as a script."""

    format: str
    title: str | None = None
    author: str | None = None
    publication: str | None = None
    url: str | None = None
    language: str | None = None
    description: str | None = None
    # Each section: its heading (None for the opening) and its blocks of Markdown.
    sections: list[tuple[str | None, list[str]]] = field(default_factory=lambda: [(None, [])])
    notes: list[tuple[int, str]] = field(default_factory=list)

    def note(self, line: int, text: str) -> None:
        self.notes.append((line, text))

    def heading(self, title: str) -> None:
        self.sections.append((title, []))

    def block(self, markdown: str) -> None:
        if markdown.strip():
            self.sections[-1][1].append(markdown.strip())


@dataclass(frozen=True)
class Draft:
    """A drafted script: its Markdown text and the notes of what was guessed."""

    text: str
    title: str | None
    chapters: tuple[str, ...]
    placeholders: int
    notes: tuple[tuple[int, str], ...]


def draft(source: str, name: str, keep_alt: bool = False) -> Draft:
    """Draft a script from the text of an article; `name` is its file name (for the format)."""
    suffix = Path(name).suffix.lower()
    if suffix in (".html", ".htm", ".xhtml") or (suffix not in (".md", ".markdown", ".txt")
                                                 and _HTML_START.match(source)):
        article = _from_html(source, keep_alt)
    elif suffix in (".md", ".markdown") or (suffix != ".txt" and _MARKDOWN_HEADING.search(source)):
        article = _from_markdown(source, keep_alt)
    else:
        article = _from_text(source)
    article.note(0, f"read as {article.format}")
    return _write(article)


def write_draft(text: str, target: Path, force: bool) -> None:
    """Write a drafted script to `target` whole or not at all; never replace one unless forced."""
    if target.exists() and not force:
        raise UsageError("already exists; give another path with -o, or --force to replace it",
                         path=target)
    if target.is_dir():
        raise UsageError("is a folder; give a file path such as script/name.md", path=target)
    try:
        write_whole(target, text.encode("utf-8"), "the script", replace=force)
    except FileExistsError:
        raise UsageError("already exists; give another path with -o, or --force to replace "
                         "it", path=target) from None


def default_target(result: Draft, name: str) -> Path:
    """script/<slug>.md, from the title or else the source's file name."""
    stem = Path(name).stem if name != "-" else "article"
    return Path("script") / f"{slugify(result.title or stem, fallback='article')}.md"


# ---------------------------------------------------------------------------
# Writing the script
# ---------------------------------------------------------------------------


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write(article: Article) -> Draft:
    count = 0

    def value(found: str | None, what: str) -> str:
        nonlocal count
        if found:
            return _quoted(found)
        count += 1
        return _quoted(placeholder(what))

    lines = [
        "---",
        f"title: {value(article.title, 'the title of the article')}",
        f"author: {value(article.author, 'who wrote the article')}",
        "source:",
        f"  name: {value(article.publication, 'the publication that first published it')}",
        f"  url: {_quoted(article.url or '')}",
        f"language: {article.language or 'en-US'}",
        'narrator: "Synthetic voice: eSpeak NG"',
        f"description: {value(article.description, 'one or two sentences about the article')}",
        f"content_note: {_quoted(CONTENT_NOTE)}",
        "---",
        "",
        f"## {CONTENT_NOTE}",
        "",
        placeholder("what the article discusses that a listener may want warning of, and "
                    "which chapter to skip to; if nothing, say so"),
        "",
    ]
    count += 1
    chapters: list[str] = []
    used = {CONTENT_NOTE.casefold(), CREDITS.casefold()}
    for heading, blocks in article.sections:
        if not blocks:
            if heading is not None:
                article.note(0, f"the heading {heading!r} has no text under it; left out")
            continue
        title = _unique(heading or OPENING, used)
        chapters.append(title)
        lines += [f"## {_escape(title)}", ""]
        for block in blocks:
            lines += [block, ""]
    lines += [
        f"## {CREDITS}",
        "",
        placeholder("who wrote and first published the article and where to read it; who made "
                    "this edition, and that the voice is synthetic"),
        "",
    ]
    count += 1
    return Draft("\n".join(lines), article.title, tuple(chapters), count,
                 tuple(sorted(article.notes)))


def _unique(title: str, used: set[str]) -> str:
    title = title.strip()
    while len(title.encode()) > MAX_TITLE_BYTES:
        title = title[:-1]
    candidate, n = title, 2
    while candidate.casefold() in used:
        candidate, n = f"{title} ({n})", n + 1
    used.add(candidate.casefold())
    return candidate


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>{}|~])")
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+[.)])(?=\s|$)")


def _escape(text: str) -> str:
    """Plain text as Markdown that reads back as the same text."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = re.sub(r"&(?=#?\w+;)", r"\\&", text)  # "&copy;" written out stays that text
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def _unglue(text: str, line: int, article: Article) -> str:
    def split(match: re.Match[str]) -> str:
        article.note(line, f"{match.group()!r} read as {match.group(1) + ', ' + match.group(2)!r}")
        return f"{match.group(1)}, {match.group(2)}"

    return _GLUED.sub(split, text)


# ---------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------


def _paragraphs(text: str) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines with the line number of their first."""
    run: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not run:
                start = number
            run.append(line.strip())
        elif run:
            yield start, run
            run = []
    if run:
        yield start, run


def _heading_like(lines: list[str]) -> bool:
    """A short line of two words or more, capitalized, that does not end like a sentence."""
    if len(lines) != 1:
        return False
    line = lines[0]
    return (len(line) <= MAX_HEADING_CHARS and len(line.split()) >= 2
            and not line.endswith(_SENTENCE_END) and (line[0].isupper() or line[0].isdigit()))


def _from_text(source: str) -> Article:
    article = Article("plain text")
    runs = list(_paragraphs(source))
    if runs and _heading_like(runs[0][1]) and len(runs) > 1:
        article.title = runs[0][1][0]
        article.note(runs[0][0], f"the first line {article.title!r} taken as the title")
        runs = runs[1:]
    for line, lines in runs:
        if _heading_like(lines) and (line, lines) != runs[-1]:
            article.heading(lines[0])
            article.note(line, f"{lines[0]!r} taken as a chapter heading")
        elif all(re.match(r"^([-*•]|\d+[.)])\s+", item) for item in lines):
            items = [re.sub(r"^([-*•]|\d+[.)])\s+", "", item) for item in lines]
            article.block("\n".join(f"- {_escape(_unglue(i, line, article))}" for i in items))
        else:
            article.block(_escape(_unglue(" ".join(lines), line, article)))
    return article


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _from_markdown(source: str, keep_alt: bool) -> Article:
    article = Article("Markdown")
    lines = source.replace("\r\n", "\n").split("\n")
    offset = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            _front_matter("\n".join(lines[1:end]), article)
            offset = end + 1
    body = "\n".join(lines[offset:])
    tokens = MarkdownIt("commonmark").parse(body)
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.nesting == 1 and depth == 0 and token.map:
            start, end = token.map
            close = next(j for j in range(i + 1, len(tokens))
                         if tokens[j].level == token.level and tokens[j].nesting == -1)
            number = start + offset + 1
            if token.type == "heading_open":
                text = tokens[i + 1].content.strip()
                plain = "".join(c.content for c in tokens[i + 1].children or []
                                if c.type in ("text", "code_inline")).strip()
                if token.tag == "h1" and article.title is None:
                    article.title = plain
                elif token.tag == "h2" or token.tag == "h1":
                    article.heading(plain)
                else:
                    article.block(text)
                    article.note(number, f"the {token.tag} heading {text!r} kept as a paragraph")
            elif token.type == "paragraph_open" and _only_image(tokens[i + 1]):
                children = tokens[i + 1].children or []
                alt = children[0].content if children else ""
                _image(alt, number, keep_alt, article)
            else:
                article.block("\n".join(lines[offset + start:offset + end]))
            i = close + 1
            continue
        if token.nesting == 0 and token.map and depth == 0:
            number = token.map[0] + offset + 1
            if token.type in ("fence", "code_block"):
                article.note(number, "a code block left out")
            elif token.type == "html_block":
                _html_block(token.content, number, keep_alt, article)
            elif token.type != "hr":
                article.block("\n".join(lines[offset + token.map[0]:offset + token.map[1]]))
        i += 1
    return article


def _only_image(inline: object) -> bool:
    children = getattr(inline, "children", None) or []
    return len(children) == 1 and children[0].type == "image"


def _image(alt: str, line: int, keep_alt: bool, article: Article, block: bool = True) -> None:
    if keep_alt and alt.strip():
        if block:
            article.block(_escape(alt.strip().rstrip(".") + "."))
        article.note(line, f"an image's alt text {alt.strip()!r} kept as text")
    else:
        article.note(line, "an image left out" + (" (give --keep-alt to keep its alt text)"
                                                   if alt.strip() else ""))


def _html_block(content: str, line: int, keep_alt: bool, article: Article) -> None:
    if content.lstrip().startswith("<!--"):
        return
    piece = _from_html(content, keep_alt)
    blocks = [b for _, bs in piece.sections for b in bs]
    for block in blocks:
        article.block(block)
    article.note(line, "an HTML block read as text" if blocks else "an HTML block left out")


def _front_matter(text: str, article: Article) -> None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if isinstance(data, dict):
        for key, attribute in (("title", "title"), ("author", "author"), ("lang", "language"),
                               ("language", "language"), ("description", "description")):
            if isinstance(data.get(key), str):
                setattr(article, attribute, data[key].strip())


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

# Never read: not part of the article's text.
_SKIPPED = frozenset(
    "script style noscript template nav aside form button select textarea "
    "iframe object embed svg math canvas video audio dialog figure picture table".split()
)
_AD_WORDS = re.compile(r"(^|[\s_-])(ad|ads|advert\w*|sponsor\w*|promo\w*|share|social|comments?|"
                       r"related|newsletter|cookie\w*|subscribe|banner)($|[\s_-])", re.I)
_BLOCKS = frozenset("p div section article main li blockquote h1 h2 h3 h4 h5 h6 ul ol pre "
                    "body html dd dt dl".split())
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


class _HtmlReader(html.parser.HTMLParser):
    """Reads an article's HTML into an Article, one block at a time."""

    def __init__(self, article: Article, keep_alt: bool):
        super().__init__(convert_charrefs=True)
        self.article = article
        self.keep_alt = keep_alt
        self.stack: list[str] = []
        self.skip: list[str] = []
        self.inline: list[str] = []
        self.block_line = 1
        self.heading: str | None = None
        self.quote = 0
        self.list_item = False
        self.title_text: list[str] | None = None
        self.links: list[str | None] = []
        self.h1: str | None = None
        self.items: list[str] = []
        self.title_tag: str | None = None
        self.og_title: str | None = None

    # The text collected since the last block boundary.
    def _flush(self) -> None:
        text = " ".join("".join(self.inline).split())
        self.inline = []
        if not text:
            return
        line = self.block_line
        text = _unglue(text, line, self.article)
        if self.heading is not None:
            self._end_list()
        if self.heading == "h1" and self.h1 is None:
            self.h1 = _unescape_markdown(text)
        elif self.heading in ("h1", "h2"):
            self.article.heading(_unescape_markdown(text))
        elif self.heading is not None:
            self.article.block(text)
            self.article.note(line, f"the {self.heading} heading {text!r} kept as a paragraph")
        elif self.list_item:
            self.items.append(("> " if self.quote else "") + f"- {text}")
        else:
            self._end_list()
            self.article.block(("> " if self.quote else "") + text)

    def _end_list(self) -> None:
        """The items read so far as one list block."""
        if self.items:
            self.article.block("\n".join(self.items))
            self.items = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag not in _VOID:
            self.stack.append(tag)
        if self.skip:
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if tag == "html" and values.get("lang"):
            self.article.language = values["lang"]
        if tag == "meta":
            self._meta(values)
            return
        if tag == "link" and "canonical" in values.get("rel", "").split():
            self.article.url = self.article.url or values.get("href")
            return
        if tag == "title":
            self.title_text = []
            return
        marker = f"{values.get('class', '')} {values.get('id', '')} {values.get('role', '')}"
        # A page's own header and footer are not the article's; an article's header is.
        outside = not any(t in ("article", "main") for t in self.stack[:-1])
        if tag in _SKIPPED or _AD_WORDS.search(marker) or values.get("aria-hidden") == "true" \
                or "hidden" in values or (tag in ("header", "footer") and outside):
            if tag == "figure" or tag == "picture":
                self.article.note(self.getpos()[0], "a figure left out")
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if tag in _BLOCKS or tag == "br" and self.heading is None:
            if tag == "br":
                self.inline.append(" ")
                return
            self._flush()
            self.block_line = self.getpos()[0]
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = tag
            elif tag == "blockquote":
                self.quote += 1
            elif tag == "li":
                self.list_item = True
            return
        if tag in ("em", "i", "cite"):
            self.inline.append("*")
        elif tag in ("strong", "b"):
            self.inline.append("**")
        elif tag == "a":
            href = values.get("href", "")
            ok = re.match(r"^https?://[^\s<>()]+$", href) is not None
            self.links.append(href if ok else None)
            if ok:
                self.inline.append("[")
        elif tag == "abbr" and values.get("title"):
            self.inline.append(f"<abbr title={_attribute(values['title'])}>")
        elif tag == "img":
            alt = " ".join(values.get("alt", "").split())
            if self.keep_alt and alt:
                self.inline.append(f" {_escape(alt)} ")
            _image(alt, self.getpos()[0], self.keep_alt, self.article, block=False)
        elif tag == "code":
            self.inline.append("`")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.skip:
                self.skip.pop()
                if top == tag:
                    return
                continue
            self._close(top)
            if top == tag:
                return

    def _close(self, tag: str) -> None:
        if tag == "title" and self.title_text is not None:
            self.title_tag = " ".join("".join(self.title_text).split()) or None
            self.title_text = None
        elif tag in _BLOCKS:
            self._flush()
            if tag.startswith("h") and tag[1:].isdigit():
                self.heading = None
            elif tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "li":
                self.list_item = False
            elif tag in ("ul", "ol"):
                self._end_list()
        elif tag in ("em", "i", "cite"):
            self.inline.append("*")
        elif tag in ("strong", "b"):
            self.inline.append("**")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.inline.append(f"]({href})")
        elif tag == "abbr" and self._open_abbr():
            self.inline.append("</abbr>")
        elif tag == "code":
            self.inline.append("`")

    def _open_abbr(self) -> bool:
        text = "".join(self.inline)
        return text.count("<abbr title=") > text.count("</abbr>")

    def handle_data(self, data: str) -> None:
        if self.title_text is not None:
            self.title_text.append(data)
        elif not self.skip:
            self.inline.append(_escape(data))

    def _meta(self, values: dict[str, str]) -> None:
        key = (values.get("property") or values.get("name") or "").lower()
        content = " ".join(values.get("content", "").split())
        if not content:
            return
        article = self.article
        if key in ("og:site_name", "application-name") and not article.publication:
            article.publication = content
        elif key in ("article:author", "author", "og:article:author") and not article.author:
            article.author = content if not content.startswith("http") else article.author
        elif key == "og:url" and not article.url:
            article.url = content
        elif key == "og:title":
            self.og_title = content
        elif key in ("description", "og:description") and not article.description:
            article.description = content


def _attribute(value: str) -> str:
    return '"' + html.escape(value, quote=True) + '"'


def _unescape_markdown(text: str) -> str:
    return re.sub(r"\\([\\`*_\[\]<>{}|~#+\-=.)])", r"\1", text).replace("**", "").replace("*", "")


def _from_html(source: str, keep_alt: bool) -> Article:
    article = Article("HTML")
    reader = _HtmlReader(article, keep_alt)
    reader.feed(source)
    reader.close()
    reader._flush()
    reader._end_list()
    article.title = reader.h1 or reader.og_title or reader.title_tag
    if article.title and not reader.h1:
        article.note(1, f"the title {article.title!r} taken from the page's metadata")
    if article.url and not re.match(r"^https?://[^\s<>\"']+$", article.url):
        article.url = None
    if article.language and not re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
                                         article.language):
        article.language = None
    return article
