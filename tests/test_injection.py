"""Injection and escaping: hostile titles and text come out correct and inert everywhere.

One script carries markup, quotes, FFMETADATA and WebVTT specials, right-to-left text,
emoji, combining marks, a title that looks like an option, path tricks and reserved
device names; every output of its edition is parsed back and compared with the text
the script really holds.
"""

from __future__ import annotations

import html.parser
import json
import subprocess
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

import vttcheck
from audioguide.names import slugify
from audioguide.script import parse_script
from conftest import render_fake

HOSTILE_TITLES = [
    '<script>alert("t")</script> & "friends"',
    "Cues --> and = ; # \\ specials",
    "-y -i /etc/passwd",
    "../../etc/passwd",
    "CON",
    "שלום עולם and مرحبا",
    "Cafe\u0301 with combining marks \U0001f600",
    "A long title " + "that keeps going " * 13,
]
HOSTILE_TEXT = [
    'She wrote <img src=x onerror=alert(1)> and "quoted" it.',
    "Cue text with --> inside, & ampersands, <b>tags</b> and 'apostrophes'.",
    "Options like -f null - and ;FFMETADATA1 lines = trouble # here \\ too.",
    "Right-to-left: שלום עולם, مرحبا بالعالم, and an emoji \U0001f389 here.",
]
STRINGS = HOSTILE_TITLES + HOSTILE_TEXT


def markdown(text: str) -> str:
    """Text as a converter would write it in Markdown: a literal '<' escaped."""
    return text.replace("<", "\\<")


def hostile_script() -> str:
    chapters = []
    for i, title in enumerate(HOSTILE_TITLES):
        text = HOSTILE_TEXT[i % len(HOSTILE_TEXT)]
        chapters.append(f"## {markdown(title)}\n\n{markdown(text)}\n")
    front = textwrap.dedent('''\
        ---
        title: '<script>alert(1)</script> "Title" & -->'
        author: "O'Brien & <Sons> = ; #"
        source:
          name: "<b>Pub</b>"
          url: "https://example.com/?a=1&b=2#x"
        language: en-US
        narrator: "Synthetic voice & <test>"
        description: "--> ends & <starts>"
        lexicon:
          "<b>": "bold"
        ---
        ''')
    return front + "\n" + "\n".join(chapters)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The hostile script and its edition, rendered with the fake engine."""
    base = tmp_path_factory.mktemp("hostile")
    script = base / "hostile.md"
    script.write_text(hostile_script(), encoding="utf-8")
    return script, render_fake(script, base / "audio", base / "cache").folder


@pytest.fixture(scope="module")
def titles(hostile: tuple[Path, Path]) -> list[str]:
    """The chapter titles exactly as the parser read them."""
    return [c.title for c in parse_script(hostile[0]).chapters]


def test_every_file_stays_inside_the_edition_with_safe_names(hostile):
    """No title escapes the output folder or makes a name unsafe on any system."""
    script, folder = hostile
    root = folder.resolve()
    for path in folder.rglob("*"):
        assert root in path.resolve().parents
        for part in path.relative_to(folder).parts:
            stem = part.split(".")[0].lower()
            assert stem not in {"con", "prn", "aux", "nul"}
            assert len(part) <= 80
            assert all(c.isascii() and (c.isalnum() or c in "-._") for c in part), part
    assert not (folder.parent.parent / "etc").exists()
    assert len({slugify(t) for t in HOSTILE_TITLES}) == len(HOSTILE_TITLES)


def test_the_page_carries_text_not_markup(hostile, titles):
    """Titles and text in index.html are text nodes; the only scripts are the page's own."""
    _, folder = hostile
    page = (folder / "index.html").read_text(encoding="utf-8")

    class Collector(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict[str, str | None]]] = []
            self.text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    collector = Collector()
    collector.feed(page)
    scripts = [attrs for tag, attrs in collector.tags if tag == "script"]
    assert all(attrs.get("src") for attrs in scripts), "an inline script came from the text"
    assert not any(tag == "b" for tag, _ in collector.tags)
    assert [a.get("src") for tag, a in collector.tags if tag == "img"] in ([], ["cover.png"])
    assert not any(k.startswith("on") for _, attrs in collector.tags for k in attrs)
    text = " ".join(" ".join(collector.text).split())
    for title in titles:
        assert " ".join(title.split()) in text
    assert "<img src=x onerror=alert(1)>" in text


def test_text_tracks_and_json_chapters_round_trip(hostile, titles):
    """The VTT tracks are strictly valid and, like chapters.json, carry the exact titles."""
    _, folder = hostile
    chapters = vttcheck.parse((folder / "chapters.vtt").read_text(encoding="utf-8"))
    captions = vttcheck.parse((folder / "captions.vtt").read_text(encoding="utf-8"))
    assert [c.text for c in chapters] == titles
    assert any("<img src=x onerror=alert(1)>" in c.text for c in captions)
    data = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))
    assert [c["title"] for c in data["chapters"]] == titles


def test_audio_tags_and_chapters_round_trip(hostile, titles):
    """ID3, MP4 and FFMETADATA chapters hold the titles unchanged (= ; # \\ included)."""
    _, folder = hostile
    mp3 = next(folder.glob("*.mp3"))
    tags = ID3(mp3)
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == titles
    m4b = next(folder.glob("*.m4b"))
    assert [c.title for c in MP4(m4b).chapters] == titles
    probed = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-print_format", "json", str(m4b)],
        capture_output=True, text=True, check=True).stdout)
    assert [c["tags"]["title"] for c in probed["chapters"]] == titles
    assert MP4(m4b)["\xa9ART"] == ["O'Brien & <Sons> = ; #"]


def test_playlist_has_one_entry_per_chapter(hostile, titles):
    """Every playlist entry is one #EXTINF line and one safe relative path."""
    _, folder = hostile
    lines = next(folder.glob("*.m3u8")).read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line.startswith("#EXTINF")]
    paths = [line for line in lines if line and not line.startswith("#")]
    assert len(entries) == len(paths) == len(titles)
    for path in paths:
        assert not path.startswith(("/", "..")) and (folder / path).is_file()


def test_talking_book_markup_parses(hostile, titles):
    """Every XML document of the EPUB and of the DAISY book parses; the titles are text."""
    _, folder = hostile
    with zipfile.ZipFile(next(folder.glob("*.epub"))) as book:
        for name in book.namelist():
            if name.endswith((".xhtml", ".smil", ".opf", ".xml", ".ncx")):
                ET.fromstring(book.read(name))
        nav = next(n for n in book.namelist() if "nav" in n and n.endswith(".xhtml"))
        nav_text = " ".join("".join(ET.fromstring(book.read(nav)).itertext()).split())
    for title in titles:
        assert " ".join(title.split()) in nav_text
    for document in (folder / "daisy").glob("*.smil"):
        ET.parse(document)
    ncc = (folder / "daisy" / "ncc.html").read_text(encoding="utf-8")
    assert "<script>" not in ncc and "&lt;script&gt;" in ncc


def test_a_chapter_title_too_long_for_chapter_menus_is_refused(tmp_path):
    """A chapter title over 255 bytes (the Nero chapter limit) is a one-line error."""
    from audioguide.errors import ScriptError

    script = tmp_path / "long.md"
    script.write_text(hostile_script().replace(
        "## A long title", "## A long title " + "and longer " * 30, 1), encoding="utf-8")
    with pytest.raises(ScriptError, match=r"long\.md:\d+: chapter title is too long"):
        parse_script(script)


INLINE_HOSTILE = textwrap.dedent('''\
    ---
    title: "Inline markup"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: test engine"
    ---

    ## A <img src=x onerror=alert(1)> title with <em>markup</em>

    A paragraph with <script>alert(2)</script> a script, <b onclick="alert(3)">bold</b> text
    and an <abbr title="onerror=alert(4)">abbr</abbr>.

    ## Second <iframe src="javascript:alert(5)"></iframe>part

    Text with <style>body{background:url(javascript:alert(6))}</style> no style.
    ''')
INLINE_TITLES = ["A title with markup", "Second part"]


@pytest.fixture(scope="module")
def inline_hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A script whose inline HTML carries scripts and event handlers, rendered (fake engine)."""
    base = tmp_path_factory.mktemp("inline")
    script = base / "inline.md"
    script.write_text(INLINE_HOSTILE, encoding="utf-8")
    return render_fake(script, base / "audio", base / "cache").folder


def _edition_texts(folder: Path) -> dict[str, str]:
    """Every text file of an edition, the EPUB's members and the audio tags, by name."""
    texts: dict[str, str] = {}
    for path in folder.rglob("*"):
        if path.suffix in (".html", ".vtt", ".json", ".m3u8", ".smil", ".xml", ".opf", ".ncx",
                           ".txt"):
            texts[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
        elif path.suffix == ".epub":
            with zipfile.ZipFile(path) as book:
                for name in book.namelist():
                    if not name.endswith((".mp3", ".m4a", ".png", ".jpg")):
                        texts[f"{path.name}/{name}"] = book.read(name).decode("utf-8")
        elif path.suffix == ".mp3" and path.read_bytes()[:3] == b"ID3":
            texts[str(path.relative_to(folder))] = " ".join(map(str, ID3(path).values()))
        elif path.suffix == ".m4b":
            tags = MP4(path)
            names = [c.title for c in tags.chapters]
            texts[path.name] = " ".join(map(str, [*tags.values(), *names]))
    return texts


def test_inline_html_never_reaches_any_output(inline_hostile):
    """Scripts, styles, frames and event handlers in inline HTML leave no trace in any output."""
    texts = _edition_texts(inline_hostile)
    assert {"index.html", "captions.vtt", "chapters.vtt", "chapters.json",
            "daisy/ncc.html", "shownotes.txt"} <= set(texts)
    assert any(".epub/" in name and name.endswith(".xhtml") for name in texts)
    assert any(name.endswith(".m4b") for name in texts)
    assert any(name.endswith(".mp3") for name in texts)
    for name, text in texts.items():
        for needle in ("alert", "onerror", "onclick", "javascript:", "<em>", "<b ", "<iframe"):
            assert needle not in text, (name, needle)


def test_inline_html_titles_are_their_text(inline_hostile):
    """Chapter titles with inline markup read back as their text from JSON, VTT, ID3 and MP4."""
    data = json.loads((inline_hostile / "chapters.json").read_text(encoding="utf-8"))
    assert [c["title"] for c in data["chapters"]] == INLINE_TITLES
    chapters = vttcheck.parse((inline_hostile / "chapters.vtt").read_text(encoding="utf-8"))
    assert [c.text for c in chapters] == INLINE_TITLES
    tags = ID3(next(inline_hostile.glob("*.mp3")))
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == INLINE_TITLES
    assert [c.title for c in MP4(next(inline_hostile.glob("*.m4b"))).chapters] == INLINE_TITLES
    captions = vttcheck.parse((inline_hostile / "captions.vtt").read_text(encoding="utf-8"))
    assert "A paragraph with a script, bold text and an abbr." in [c.text for c in captions]
