"""The EPUB 3 talking book, read back from the rendered file."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import textwrap
import uuid
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

import mutagen.id3
import pytest

from audioguide.tools import decode_duration_ms
from conftest import SMALL_SCRIPT, cli_render_only, manifest, render_fake
from vttcheck import INLINE_TIMESTAMP

EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")
NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "smil": "http://www.w3.org/ns/SMIL",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
}
EPUB_TYPE = f"{{{NS['epub']}}}type"
TEXTREF = f"{{{NS['epub']}}}textref"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

HOSTILE_SCRIPT = textwrap.dedent("""\
    ---
    title: "Fish & Chips: <Tags>, \\"Quotes\\" and 'Apostrophes' -->"
    author: "O'Brien & <Sons>"
    source:
      name: "R&D <Press> \\"Weekly\\""
      url: "https://example.com/a?b=1&c=2"
    language: en-GB
    narrator: "Synthetic voice: test engine & <friends>"
    description: "Hostile text: & < > \\" ' --> ]]>"
    ---

    ## Q&A: \\<b>not bold\\</b> & "quotes" -->

    Fish & chips cost less than \\<script>alert("x")\\</script> would.
    Code looks like `<script>alert('y')</script>` here.

    An arrow --> ends nothing, and ]]> ends no CDATA. Neither does a lone <!-- opener.

    > "Quoted" & 'single' text \\<i>inside\\</i> a quotation.

    - First & foremost.
    - Last \\<but> not least.

    ## Right to left & emoji 🎉

    שלום עולם, זה משפט בעברית.

    مرحبا بالعالم، هذه جملة عربية.

    A family 👩‍👩‍👧 and a flag 🇳🇴 and a keycap 1️⃣ in one sentence.
    """)


class Book:
    """An EPUB opened for reading: its entries, package and overlays."""

    def __init__(self, path: Path):
        self.path = path
        with zipfile.ZipFile(path) as archive:
            self.infos = archive.infolist()
            self.files = {info.filename: archive.read(info) for info in self.infos}
        container = self.xml("META-INF/container.xml")
        self.opf_path = container.find(".//c:rootfile", NS).get("full-path")
        self.opf = self.xml(self.opf_path)
        self.base = PurePosixPath(self.opf_path).parent
        self.items = {item.get("id"): item for item in self.opf.iterfind(".//opf:item", NS)}

    def xml(self, name: str) -> ET.Element:
        return ET.fromstring(self.files[name])

    def resolve(self, relative_to: str, href: str) -> str:
        """The entry name of `href` written inside entry `relative_to`."""
        parts: list[str] = []
        for part in (PurePosixPath(relative_to).parent / href.split("#")[0]).parts:
            if part == "..":
                parts.pop()
            else:
                parts.append(part)
        return "/".join(parts)

    def item_path(self, item: ET.Element) -> str:
        return str(self.base / item.get("href"))

    def metas(self, prop: str, refines: str | None = None) -> list[str]:
        return [m.text or "" for m in self.opf.iterfind(".//opf:meta", NS)
                if m.get("property") == prop and m.get("refines") == refines]

    def spine_documents(self) -> list[str]:
        return [self.item_path(self.items[ref.get("idref")])
                for ref in self.opf.iterfind(".//opf:spine/opf:itemref", NS)]

    def chapter_entries(self) -> list[str]:
        """The spine documents that have a media overlay: the chapters, in order."""
        return [self.item_path(self.items[ref.get("idref")])
                for ref in self.opf.iterfind(".//opf:spine/opf:itemref", NS)
                if self.items[ref.get("idref")].get("media-overlay")]

    def overlays(self) -> list[tuple[str, str]]:
        """(overlay id, overlay entry) of each chapter document, in spine order."""
        found = []
        for ref in self.opf.iterfind(".//opf:spine/opf:itemref", NS):
            overlay = self.items[ref.get("idref")].get("media-overlay")
            if overlay:
                found.append((overlay, self.item_path(self.items[overlay])))
        return found

    def pars(self, overlay: str) -> list[tuple[str, str, int, int]]:
        """(text src, audio entry, clipBegin ms, clipEnd ms) of each par of an overlay."""
        result = []
        for par in self.xml(overlay).iterfind(".//smil:par", NS):
            text = par.find("smil:text", NS)
            audio = par.find("smil:audio", NS)
            assert text is not None and audio is not None
            result.append((text.get("src"), self.resolve(overlay, audio.get("src")),
                           clock_ms(audio.get("clipBegin")), clock_ms(audio.get("clipEnd"))))
        return result


def clock_ms(value: str) -> int:
    """Milliseconds of a SMIL clock value (full, partial or timecount)."""
    match = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)", value)
    if match:
        hours, minutes, seconds = match.groups()
        return round((int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(h|min|s|ms)?", value)
    assert match, f"not a SMIL clock value: {value!r}"
    scale = {"h": 3_600_000, "min": 60_000, "s": 1000, "ms": 1, None: 1000}[match.group(2)]
    return round(float(match.group(1)) * scale)


def audio_length_ms(book: Book, entry: str, scratch: Path) -> int:
    """The duration of an audio entry of the book, as ffmpeg decodes it."""
    target = scratch / entry.replace("/", "_")
    if not target.exists():
        target.write_bytes(book.files[entry])
    return decode_duration_ms(target)


def sentences(folder: Path) -> list[dict]:
    return [s for chapter in manifest(folder)["chapters"] for s in chapter["sentences"]]


def epubcheck(path: Path) -> str:
    """epubcheck's report on `path`; fails the test (never skips) when it cannot run."""
    java = shutil.which("java")
    if java is None or not EPUBCHECK_JAR.is_file():
        pytest.fail("epubcheck is not installed: sudo apt-get install epubcheck "
                    "default-jre-headless (or run ./dev.sh test)")
    result = subprocess.run([java, "-jar", str(EPUBCHECK_JAR), str(path)],
                            capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def assert_clean(report: str) -> None:
    summary = re.search(r"Messages: (\d+) fatals? / (\d+) errors? / (\d+) warnings?", report)
    assert summary, f"epubcheck printed no summary:\n{report}"
    assert summary.groups() == ("0", "0", "0"), report
    assert not re.search(r"^(FATAL|ERROR|WARNING)\(", report, re.M), report


def spans_by_id(book: Book) -> dict[str, str]:
    """The text of every element with a sentence id in the chapter documents."""
    found = {}
    for doc in chapter_documents(book):
        for element in doc.iter():
            if re.fullmatch(r"c\d+s\d+", element.get("id") or ""):
                found[element.get("id")] = "".join(element.itertext())
    return found


def chapter_documents(book: Book) -> list[ET.Element]:
    return [book.xml(name) for name in book.chapter_entries()]


def vtt_cues(path: Path) -> list[str]:
    """The payload text of every cue of a WebVTT file, unescaped, without word timestamps."""
    cues = []
    for block in path.read_text(encoding="utf-8").split("\n\n")[1:]:
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is not None:
            payload = INLINE_TIMESTAMP.sub("", " ".join(lines[timing + 1:]))
            cues.append(html.unescape(payload))
    return cues


def epub_of(folder: Path) -> Path:
    return folder / f"{folder.name}.epub"


@pytest.fixture(scope="module")
def article_book(article_edition: Path) -> Book:
    return Book(epub_of(article_edition))


@pytest.fixture(scope="module")
def small_book(small_edition: Path) -> Book:
    return Book(epub_of(small_edition))


@pytest.fixture(scope="module")
def hostile_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    script = base / "hostile.md"
    script.write_text(HOSTILE_SCRIPT, encoding="utf-8")
    return render_fake(script, base / "audio", base / "cache", formats=("epub",)).folder


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("epub-audio")


def test_article_epub_passes_epubcheck(article_edition: Path) -> None:
    """The article's EPUB passes epubcheck with no error and no warning."""
    assert_clean(epubcheck(epub_of(article_edition)))


def test_hostile_text_passes_epubcheck_and_survives(hostile_edition: Path) -> None:
    """Markup characters, quotes, RTL text and emoji stay valid EPUB and read back unchanged."""
    assert_clean(epubcheck(epub_of(hostile_edition)))
    book = Book(epub_of(hostile_edition))
    texts = spans_by_id(book)
    expected = {s["id"]: s["text"] for s in sentences(hostile_edition)}
    assert texts == expected
    assert "<script>alert(\"x\")</script>" in expected["c01s001"]
    assert book.opf.findtext(".//dc:title", namespaces=NS) == manifest(hostile_edition)["title"]
    assert book.opf.findtext(".//dc:creator", namespaces=NS) == "O'Brien & <Sons>"
    assert book.opf.findtext(".//dc:source", namespaces=NS) == "https://example.com/a?b=1&c=2"
    rtl = [el for doc in chapter_documents(book) for el in doc.iter()
           if el.get("id") in ("c02s001", "c02s002")]
    assert [el.get("dir") for el in rtl] == ["auto", "auto"]


def test_mimetype_first_stored_and_entries_fixed(article_book: Book) -> None:
    """The container is a deterministic ZIP: mimetype first and stored, sorted, fixed times."""
    first = article_book.infos[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert article_book.files["mimetype"] == b"application/epub+zip"
    assert first.extra == b""
    # The mimetype's local header is at 0 and its name starts at byte 30, as OCF requires.
    assert article_book.path.read_bytes()[30:38] == b"mimetype"
    names = [info.filename for info in article_book.infos[1:]]
    assert names == sorted(names)
    assert {info.date_time for info in article_book.infos} == {(1980, 1, 1, 0, 0, 0)}


def test_durations_add_up(article_book: Book, article_edition: Path, scratch: Path) -> None:
    """Each overlay's media:duration is the sum of its clips and the book's the sum of those."""
    overlays = article_book.overlays()
    assert len(overlays) == len(manifest(article_edition)["chapters"])
    total = clock_ms(article_book.metas("media:duration")[0])
    assert len(article_book.metas("media:duration")) == 1
    per_overlay = []
    for overlay_id, entry in overlays:
        (declared,) = article_book.metas("media:duration", refines=f"#{overlay_id}")
        clips = article_book.pars(entry)
        assert clock_ms(declared) == sum(end - begin for _, _, begin, end in clips)
        # The clips tile the chapter file, so the overlay lasts as long as its audio.
        assert abs(clock_ms(declared) - audio_length_ms(article_book, clips[0][1], scratch)) <= 1
        per_overlay.append(clock_ms(declared))
    assert total == sum(per_overlay)
    assert total == sum(c["file_ms"] for c in manifest(article_edition)["chapters"])


def test_clips_stay_inside_their_audio(article_book: Book, article_edition: Path,
                                       scratch: Path) -> None:
    """Clips start where their sentence starts, run on to the next, and end inside the file."""
    chapters = manifest(article_edition)["chapters"]
    for (_, entry), chapter in zip(article_book.overlays(), chapters, strict=True):
        clips = article_book.pars(entry)
        assert {audio for _, audio, _, _ in clips} == {clips[0][1]}
        assert clips[0][1].endswith(PurePosixPath(chapter["file"]).name)
        assert clips[-1][3] == chapter["file_ms"]
        length = audio_length_ms(article_book, clips[0][1], scratch)
        starts = [s["start_in_chapter_ms"] for s in chapter["sentences"]]
        assert [begin for _, _, begin, _ in clips] == [0, *starts[1:]]
        assert 0 < starts[0] < clips[0][3]
        for (_, _, begin, end), (_, _, next_begin, _) in zip(clips, clips[1:], strict=False):
            assert begin < end == next_begin
        assert clips[-1][2] < clips[-1][3] <= length + 1


def test_every_text_reference_resolves(article_book: Book, article_edition: Path) -> None:
    """Every par points at an existing sentence id, in reading order, one par per sentence."""
    referenced = []
    for _, entry in article_book.overlays():
        seq = article_book.xml(entry).find("smil:body/smil:seq", NS)
        assert seq is not None and "#" in seq.get(TEXTREF)
        doc_name = article_book.resolve(entry, seq.get(TEXTREF))
        ids = {el.get("id") for el in article_book.xml(doc_name).iter() if el.get("id")}
        assert seq.get(TEXTREF).split("#")[1] in ids
        for src, _, _, _ in article_book.pars(entry):
            assert article_book.resolve(entry, src) == doc_name
            assert src.split("#")[1] in ids
            referenced.append(src.split("#")[1])
    assert referenced == [s["id"] for s in sentences(article_edition)]


def test_sentence_text_matches_captions(article_book: Book, article_edition: Path) -> None:
    """The text of every sentence is its written form, as in the manifest and the captions."""
    texts = spans_by_id(article_book)
    written = [s["text"] for s in sentences(article_edition)]
    assert list(texts.values()) == written
    assert list(texts) == [s["id"] for s in sentences(article_edition)]
    captions = article_edition / "captions.vtt"
    if captions.exists():
        assert vtt_cues(captions) == written


def test_chapter_documents_are_structured(small_book: Book, small_edition: Path) -> None:
    """Chapters are sections with a narrated heading; paragraphs, quotes and lists keep shape."""
    docs = chapter_documents(small_book)
    chapters = manifest(small_edition)["chapters"]
    assert len(docs) == len(chapters)
    for doc, chapter in zip(docs, chapters, strict=True):
        assert doc.get("lang") == doc.get(XML_LANG) == "en-US"
        section = doc.find(".//x:body/x:section", NS)
        assert section is not None
        assert section.get(EPUB_TYPE) == "chapter" and section.get("role") == "doc-chapter"
        heading = section.find("x:h1", NS)
        assert heading is not None
        assert heading.get("id") == chapter["sentences"][0]["id"]
        assert heading.text == chapter["title"]
    second = docs[1]
    quote = second.find(".//x:blockquote/x:p/x:span", NS)
    assert quote is not None and quote.text.startswith("A quoted paragraph")
    items = second.findall(".//x:ul/x:li/x:span", NS)
    assert [item.text for item in items] == ["A list item.", "Another item."]
    first_paragraph = second.find(".//x:section/x:p", NS)
    assert [s.get("id") for s in first_paragraph.findall("x:span", NS)] == ["c02s001", "c02s002"]


def test_package_metadata(small_book: Book, small_edition: Path) -> None:
    """The package names the book, its source, its synthetic narrator and its accessibility."""
    data = manifest(small_edition)
    opf = small_book.opf
    identifier = opf.find(".//dc:identifier", NS)
    assert identifier is not None and opf.get("unique-identifier") == identifier.get("id")
    assert uuid.UUID(identifier.text.removeprefix("urn:uuid:")).version == 5
    assert opf.findtext(".//dc:title", namespaces=NS) == "A Small Test Edition"
    assert opf.findtext(".//dc:creator", namespaces=NS) == "Test Author"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en-US"
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "Test Publication"
    assert opf.findtext(".//dc:source", namespaces=NS) == "https://example.com/article"
    (modified,) = small_book.metas("dcterms:modified")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified)
    assert small_book.metas("media:narrator") == [data["narrator"]]
    (active,) = small_book.metas("media:active-class")
    css = b"".join(v for k, v in small_book.files.items() if k.endswith(".css")).decode()
    assert re.search(rf"\.{re.escape(active)}\s*\{{", css)
    assert set(small_book.metas("schema:accessMode")) == {"textual", "auditory"}
    assert set(small_book.metas("schema:accessModeSufficient")) >= {
        "textual", "auditory", "textual,auditory"}
    assert set(small_book.metas("schema:accessibilityFeature")) >= {
        "synchronizedAudioText", "tableOfContents", "readingOrder", "structuralNavigation"}
    assert small_book.metas("schema:accessibilityHazard") == ["none"]
    (summary,) = small_book.metas("schema:accessibilitySummary")
    assert "synthetic" in summary and "computer-generated" in summary
    (conforms,) = small_book.metas("dcterms:conformsTo")
    assert re.fullmatch(r"EPUB Accessibility 1\.1 - WCAG 2\.\d Level AA", conforms)


def test_manifest_spine_and_navigation(small_book: Book, small_edition: Path,
                                       tmp_path: Path) -> None:
    """Every chapter is in the spine with its overlay and audio, and in the table of contents."""
    chapters = manifest(small_edition)["chapters"]
    media_types = {item.get("media-type") for item in small_book.items.values()}
    assert {"audio/mpeg", "application/smil+xml", "image/png"} <= media_types
    audio = [i for i in small_book.items.values() if i.get("href").endswith(".mp3")]
    assert {i.get("media-type") for i in audio} == {"audio/mpeg"} and len(audio) == len(chapters)
    assert [name for name in small_book.files if name.endswith(".mp3")] == sorted(
        small_book.item_path(i) for i in audio)
    for item in audio:
        # The same encode as the published chapter file, without its ID3 tag.
        published = tmp_path / PurePosixPath(item.get("href")).name
        shutil.copyfile(small_edition / "chapters" / published.name, published)
        mutagen.id3.delete(published)
        assert small_book.files[small_book.item_path(item)] == published.read_bytes()
    cover = [i for i in small_book.items.values() if i.get("properties") == "cover-image"]
    assert len(cover) == 1
    assert small_book.files[small_book.item_path(cover[0])] == (
        small_edition / "cover.png").read_bytes()
    (nav_item,) = [i for i in small_book.items.values() if i.get("properties") == "nav"]
    nav_name = small_book.item_path(nav_item)
    nav = small_book.xml(nav_name)
    toc = next(n for n in nav.iterfind(".//x:nav", NS) if n.get(EPUB_TYPE) == "toc")
    links = toc.findall(".//x:ol/x:li/x:a", NS)
    assert [a.text for a in links] == [c["title"] for c in chapters]
    assert [small_book.resolve(nav_name, a.get("href")) for a in links] == (
        small_book.chapter_entries())
    landmarks = next(n for n in nav.iterfind(".//x:nav", NS) if n.get(EPUB_TYPE) == "landmarks")
    marks = {a.get(EPUB_TYPE): small_book.resolve(nav_name, a.get("href"))
             for a in landmarks.iter(f"{{{NS['x']}}}a")}
    assert marks.keys() >= {"cover", "toc", "bodymatter"}
    spine = small_book.spine_documents()
    assert spine[0] == marks["cover"]
    assert spine[-len(chapters):] == small_book.chapter_entries()
    assert marks["bodymatter"] == small_book.chapter_entries()[0]


def test_render_is_byte_identical(tmp_path: Path) -> None:
    """Two renders of one script, each with its own cache, write the same EPUB bytes."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    books = []
    for run in ("one", "two"):
        folder = render_fake(script, tmp_path / run / "audio", tmp_path / run / "cache",
                             formats=("epub",)).folder
        books.append(epub_of(folder).read_bytes())
    assert books[0] == books[1]


def test_cli_renders_only_the_epub(tmp_path: Path) -> None:
    """`audioguide render --format epub` writes the EPUB (with its audio) and no other output."""
    result, folder = cli_render_only(tmp_path, "epub")
    assert "small.epub" in result.output
    assert manifest(folder)["formats"] == ["epub"]
    assert sorted(p.name for p in folder.iterdir()) == ["cover.png", "manifest.json",
                                                        "small.epub"]
    book = Book(folder / "small.epub")
    assert len([n for n in book.files if n.endswith(".mp3")]) == 3
