"""The library: feed.xml, catalog.xml, index.html and the audiobookshelf sidecars of two
editions rendered into one folder, read back by independent parsers and checked rule by rule."""

from __future__ import annotations

import email.utils
import http.client
import io
import json
import shutil
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from PIL import Image

from audioguide.cli import main
from audioguide.errors import OutputError, UsageError
from audioguide.library import Settings, load_settings, publish_library
from audioguide.script import parse_script
from audioguide.server import make_server, start_in_thread
from conftest import SMALL_SCRIPT, manifest, render_fake
from test_page import (  # noqa: F401  (browser and axe_source are fixtures)
    DESKTOP,
    FOCUSABLE,
    NARROW,
    axe_source,
    axe_violations,
    browser,
    outline,
)
from tricky import TRICKY_SCRIPT

BASE = "https://example.com/audio/"
FIRST = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
      "podcast": "https://podcastindex.org/namespace/1.0",
      "psc": "http://podlove.org/simple-chapters", "atom": "http://www.w3.org/2005/Atom",
      "dcterms": "http://purl.org/dc/terms/"}
EDITED = ("The last chapter has two sentences.", "The last chapter was edited since.")


@dataclass(frozen=True)
class Rendered:
    """Two editions in one output folder, with their scripts and clip cache."""

    output: Path
    scripts: dict[str, Path]
    cache: Path


def render_library(base: Path) -> Rendered:
    scripts = {}
    for slug, text in (("small", SMALL_SCRIPT), ("tricky", TRICKY_SCRIPT)):
        scripts[slug] = base / f"{slug}.md"
        scripts[slug].write_text(text, encoding="utf-8")
        render_fake(scripts[slug], base / "audio", base / "cache")
    return Rendered(base / "audio", scripts, base / "cache")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The small and the tricky script rendered into one folder, published with a base URL."""
    result = render_library(tmp_path_factory.mktemp("library"))
    publish_library(result.output, Settings(base_url=BASE), now=FIRST)
    return result


@pytest.fixture(scope="module")
def output(rendered: Rendered) -> Path:
    return rendered.output


def channel(output: Path) -> ET.Element:
    root = ET.parse(output / "feed.xml").getroot()
    found = root.find("channel")
    assert found is not None
    return found


def items(output: Path) -> dict[str, ET.Element]:
    """The feed's items by the slug of their link."""
    return {item.findtext("link", "").rstrip("/").rsplit("/", 1)[-1]: item
            for item in channel(output).findall("item")}


def local(output: Path, url: str, base: str = BASE) -> Path:
    """The file in the output folder that a URL of the feed names."""
    assert url.startswith(base), url
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path[len(
        urllib.parse.urlsplit(base).path):])
    target = output / path
    return target / "index.html" if path == "" or path.endswith("/") else target


def feed_urls(output: Path) -> list[str]:
    """Every URL in the feed: url/href/uri attributes and <link> and <url> texts."""
    root = ET.parse(output / "feed.xml").getroot()
    urls = [value for element in root.iter() for name, value in element.attrib.items()
            if name in ("url", "href", "uri")]
    urls += [element.text or "" for element in root.iter() if element.tag in ("link", "url")]
    return urls


# The feed, read by two independent parsers -------------------------------------------


def test_podcastparser_reads_every_edition(output: Path) -> None:
    """podcastparser finds the channel, one episode per edition with its enclosure and length."""
    with (output / "feed.xml").open("rb") as stream:
        parsed = podcastparser.parse(BASE + "feed.xml", stream)
    assert parsed["title"] == "Audio editions"
    assert parsed["cover_url"] == BASE + "cover.png"
    assert parsed["itunes_categories"] == [["Arts", "Books"]]
    episodes = {e["link"]: e for e in parsed["episodes"]}
    assert set(episodes) == {BASE + "small/", BASE + "tricky/"}
    for slug in ("small", "tricky"):
        episode = episodes[BASE + f"{slug}/"]
        book = manifest(output / slug)
        assert episode["title"] == book["title"]
        assert episode["total_time"] == round(book["duration_ms"] / 1000)
        (enclosure,) = episode["enclosures"]
        assert enclosure["mime_type"] == "audio/mpeg"
        assert enclosure["file_size"] == local(output, enclosure["url"]).stat().st_size
        assert [c["title"] for c in episode["chapters"]] == [c["title"] for c in book["chapters"]]


def test_feedparser_reads_it_without_complaint(output: Path) -> None:
    """feedparser parses the feed cleanly and sees the Podcasting 2.0 tags."""
    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.podcast_guid == str(uuid.uuid5(
        uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.com/audio/feed.xml"))
    assert parsed.feed.podcast_txt["purpose"] == "ai-content"
    assert len(parsed.entries) == 2
    for entry in parsed.entries:
        assert entry.id.startswith("urn:uuid:") and entry.guidislink is False
        assert entry.enclosures[0]["type"] == "audio/mpeg"
        assert entry.published_parsed is not None
        assert entry.psc_chapters["chapters"][0]["start"] == "00:00:00.000"


# The feed's rules, checked one by one ------------------------------------------------


def test_channel_rules(output: Path) -> None:
    """The channel has everything apps and directories look for, the AI disclosure included."""
    root = channel(output)
    assert root.findtext("language") == "en-GB"  # the newest edition's, with no setting
    assert len(root.findtext("description", "").encode()) <= 4000
    self_link = root.find("atom:link[@rel='self']", NS)
    assert self_link is not None and self_link.get("href") == BASE + "feed.xml"
    assert root.findtext("itunes:explicit", namespaces=NS) == "false"
    assert root.findtext("itunes:author", namespaces=NS)
    assert root.find("itunes:owner/itunes:name", NS) is not None
    txt = root.find("podcast:txt", NS)
    assert txt is not None and txt.get("purpose") == "ai-content" and txt.text == "true"
    assert root.findtext("podcast:locked", namespaces=NS) == "no"
    assert root.findtext("podcast:medium", namespaces=NS) == "podcast"
    assert root.findtext("podcast:guid", namespaces=NS) == str(uuid.uuid5(
        uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.com/audio/feed.xml"))


def test_every_enclosure_length_is_the_file_size(output: Path) -> None:
    """Each enclosure and alternate enclosure states the exact byte length of its file."""
    for item in items(output).values():
        enclosure = item.find("enclosure")
        assert enclosure is not None
        assert int(enclosure.get("length", "")) == local(output, enclosure.get("url", "")
                                                          ).stat().st_size
        alternate = item.find("podcast:alternateEnclosure", NS)
        assert alternate is not None and alternate.get("type") == "audio/mp4"
        source = alternate.find("podcast:source", NS)
        assert source is not None
        assert int(alternate.get("length", "")) == local(output, source.get("uri", "")
                                                          ).stat().st_size


def test_every_url_resolves_to_a_file_of_the_output(output: Path) -> None:
    """Every address in the feed is under the base URL and names a file that exists."""
    urls = feed_urls(output)
    assert len(urls) >= 20
    for url in urls:
        assert local(output, url).is_file(), url


def test_items_carry_transcripts_chapters_artwork_and_notes(output: Path) -> None:
    """Each item: captions and HTML transcript, JSON chapters, its cover, a duration, a
    pubDate, and notes that start with the content note and list chapters from 00:00."""
    for slug, item in items(output).items():
        book = manifest(output / slug)
        transcripts = {t.get("type"): t for t in item.findall("podcast:transcript", NS)}
        assert transcripts["text/vtt"].get("rel") == "captions"
        assert local(output, transcripts["text/vtt"].get("url", "")).name == "captions.vtt"
        assert transcripts["application/x-subrip"].get("rel") == "captions"
        subrip = local(output, transcripts["application/x-subrip"].get("url", ""))
        cues = subrip.read_text(encoding="utf-8").split("\n\n")
        sentences = [s for c in book["chapters"] for s in c["sentences"]]
        assert len(cues) == len(sentences)
        assert cues[0].splitlines()[:2] == ["1", f"00:00:00,{sentences[0]['start_ms']:03d} --> "
                                            f"00:00:0{sentences[0]['end_ms'] // 1000},"
                                            f"{sentences[0]['end_ms'] % 1000:03d}"]
        assert local(output, transcripts["text/html"].get("url", "")).name == "index.html"
        chapters = item.find("podcast:chapters", NS)
        assert chapters is not None and chapters.get("type") == "application/json+chapters"
        image = item.find("itunes:image", NS)
        assert image is not None and image.get("href") == BASE + f"{slug}/cover.png"
        assert item.findtext("itunes:duration", namespaces=NS) == str(
            round(book["duration_ms"] / 1000))
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate", "")) == FIRST
        summary = item.findtext("itunes:summary", namespaces=NS) or ""
        assert summary.startswith(f"Content note: {book['content_note']}")
        lines = summary.split("Chapters:\n", 1)[1].split("\n\n")[0].splitlines()
        assert lines[0].startswith("00:00 ") and len(lines) >= 3
        assert [line.split(" ", 1)[1] for line in lines] == [
            " ".join(c["title"].split()) for c in book["chapters"]]


def test_chapters_agree_in_feed_json_and_mp3(output: Path) -> None:
    """psc:chapters, chapters.json and the MP3's CHAP frames agree within 50 ms."""
    for slug, item in items(output).items():
        psc = [(c.get("title"), _seconds(c.get("start", ""))) for c in
               item.findall("psc:chapters/psc:chapter", NS)]
        document = json.loads((output / slug / "chapters.json").read_text(encoding="utf-8"))
        listed = [(c["title"], float(c["startTime"])) for c in document["chapters"]]
        frames = sorted(ID3(output / slug / f"{slug}.mp3").getall("CHAP"),
                        key=lambda frame: frame.start_time)
        tagged = [(frame.sub_frames["TIT2"].text[0], frame.start_time / 1000)
                  for frame in frames]
        assert len(psc) == len(listed) == len(tagged) == 3
        for (title_a, a), (title_b, b), (title_c, c) in zip(psc, listed, tagged, strict=True):
            assert title_a == title_b == title_c
            assert abs(a - b) <= 0.05 and abs(a - c) <= 0.05


def _seconds(npt: str) -> float:
    hours, minutes, seconds = npt.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_artwork_is_within_apples_limits(output: Path) -> None:
    """Channel and episode artwork: square RGB PNGs of 1400-3000 px, URLs ending in .png."""
    images = [e.get("href", "") for e in ET.parse(output / "feed.xml").getroot().iter(
        f"{{{NS['itunes']}}}image")]
    assert len(images) == 3
    for url in images:
        assert url.endswith(".png")
        with Image.open(local(output, url)) as image:
            assert image.format == "PNG" and image.mode == "RGB"
            assert image.width == image.height and 1400 <= image.width <= 3000


def test_hostile_titles_stay_well_formed_and_inert(output: Path) -> None:
    """Titles with markup, quotes and arrows parse back as the same text, and the HTML
    description shows them as text, never as elements."""
    tricky = parse_script(output.parent / "tricky.md")
    item = items(output)["tricky"]
    assert item.findtext("title") == tricky.title
    assert [c.get("title") for c in item.findall("psc:chapters/psc:chapter", NS)] == [
        c.title for c in tricky.chapters]
    description = item.findtext("description", "")

    class Tags(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.found.append(tag)

    parser = Tags()
    parser.feed(description)
    assert set(parser.found) <= {"p", "br"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description


def test_control_characters_never_reach_the_xml(tmp_path: Path) -> None:
    """A title holding a control character (allowed in a manifest) still gives well-formed
    XML in the feed and the catalogue."""
    result = render_library(tmp_path)
    book = manifest(result.output / "small")
    book["title"] = "Bell\x07 and\x1b escape"
    (result.output / "small" / "manifest.json").write_text(json.dumps(book), encoding="utf-8")
    publish_library(result.output, Settings(base_url=BASE), now=FIRST)
    feed = ET.parse(result.output / "feed.xml").getroot()
    assert "Bell and escape" in [t.text for t in feed.iter("title")]
    catalog = ET.parse(result.output / "catalog.xml").getroot()
    assert "Bell and escape" in [t.text for t in catalog.iter(f"{{{NS['atom']}}}title")]


# Re-renders -------------------------------------------------------------------------


def test_guids_survive_a_rerender_while_the_edited_audio_gets_a_new_url(
        rendered: Rendered, tmp_path: Path) -> None:
    """After an edited sentence: the same unique guids and pubDates, a new enclosure URL for
    the edited edition only, and the unchanged edition's URL kept."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output)
    before = {slug: (item.findtext("guid"), item.find("enclosure").get("url"),  # type: ignore[union-attr]
                     item.findtext("pubDate")) for slug, item in items(output).items()}
    assert len({guid for guid, _, _ in before.values()}) == 2
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT.replace(*EDITED), encoding="utf-8")
    render_fake(script, output, rendered.cache)
    publish_library(output, Settings(base_url=BASE), now=LATER)
    after = {slug: (item.findtext("guid"), item.find("enclosure").get("url"),  # type: ignore[union-attr]
                    item.findtext("pubDate")) for slug, item in items(output).items()}
    assert after["small"][0] == before["small"][0] and after["small"][2] == before["small"][2]
    assert after["small"][1] != before["small"][1]
    assert local(output, after["small"][1] or "").is_file()
    assert after["tricky"] == before["tricky"]
    catalog = ET.parse(output / "catalog.xml").getroot()
    updated = {e.findtext("atom:id", namespaces=NS): e.findtext("atom:updated", namespaces=NS)
               for e in catalog.findall("atom:entry", NS)}
    assert updated[before["small"][0]] == "2026-11-20T09:00:00Z"
    assert updated[before["tricky"][0]] == "2026-11-01T09:00:00Z"


def test_a_publish_with_nothing_new_writes_nothing(rendered: Rendered, tmp_path: Path) -> None:
    """Publishing again from the same manifests changes no file of the library."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output)
    result = publish_library(output, Settings(base_url=BASE), now=LATER)
    assert result.written == () and result.note is None
    assert (output / "feed.xml").read_bytes() == (rendered.output / "feed.xml").read_bytes()


# Without a base URL, and files that are not ours --------------------------------------


def test_without_a_base_url_no_feed_is_written(rendered: Rendered, tmp_path: Path) -> None:
    """Without a base URL: the page and catalogue with relative links, no feed, one note."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output, ignore=shutil.ignore_patterns(
        "feed.xml", "library.json", "index.html", "catalog.xml", "cover.png", "library.css"))
    result = publish_library(output, Settings(), now=FIRST)
    assert not (output / "feed.xml").exists()
    assert result.note is not None and "needs a base URL" in result.note
    assert "\n" not in result.note
    page = (output / "index.html").read_text(encoding="utf-8")
    assert "feed.xml" not in page and "no web address yet" in page
    assert 'href="catalog.xml"' in page


def test_the_cli_publishes_and_notes_a_missing_base_url(rendered: Rendered,
                                                        tmp_path: Path) -> None:
    """`audioguide publish` without a base URL exits 0 with the note as one stderr line."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output)
    result = CliRunner().invoke(main, ["publish", str(output)], env={"AUDIOGUIDE_BASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"audioguide: note: {output / 'feed.xml'} was not updated")
    with_url = CliRunner().invoke(main, ["publish", str(output), "--base-url",
                                         "https://other.example/books"])
    assert with_url.exit_code == 0 and with_url.stderr == ""
    assert "https://other.example/books/small/small.mp3?v=" in (
        output / "feed.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("url", ["example.com/audio", "ftp://example.com/", "https://",
                                 "https://example.com/a b/", "https://example.com/?q=1"])
def test_a_bad_base_url_is_a_usage_error(rendered: Rendered, url: str) -> None:
    """A base URL that is not an absolute http(s) address exits 2 with one line."""
    result = CliRunner().invoke(main, ["publish", str(rendered.output), "--base-url", url])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "is not an http(s) address" in result.stderr


def test_publish_refuses_a_folder_without_editions(tmp_path: Path) -> None:
    """Publishing a folder with no editions exits 2 with one line naming it."""
    result = CliRunner().invoke(main, ["publish", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"audioguide: error: {tmp_path}: holds no editions " \
        "(no <slug>/manifest.json); render one first\n"


def test_a_file_audioguide_did_not_write_is_never_replaced(rendered: Rendered,
                                                           tmp_path: Path) -> None:
    """A user's own index.html beside the editions is refused and kept byte for byte."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output, ignore=shutil.ignore_patterns(
        "library.json", "index.html"))
    (output / "index.html").write_text("<p>my own page</p>\n", encoding="utf-8")
    with pytest.raises(OutputError, match="was not written by audioguide"):
        publish_library(output, Settings(base_url=BASE), now=FIRST)
    assert (output / "index.html").read_text(encoding="utf-8") == "<p>my own page</p>\n"


def test_settings_from_audioguide_toml(tmp_path: Path) -> None:
    """audioguide.toml's [library] table sets the title and owner; the environment's base
    URL and then --base-url override its base_url; a bad key is one clear error."""
    config = tmp_path / "audioguide.toml"
    config.write_text('[library]\ntitle = "Our Stories"\nemail = "owner@example.com"\n'
                      'base_url = "https://files.example.org/a"\n', encoding="utf-8")
    settings = load_settings(config, environ={})
    assert (settings.title, settings.email, settings.base_url) == (
        "Our Stories", "owner@example.com", "https://files.example.org/a/")
    assert load_settings(config, environ={"AUDIOGUIDE_BASE_URL": "http://x.test/"}
                         ).base_url == "http://x.test/"
    assert load_settings(config, "https://y.test", environ={"AUDIOGUIDE_BASE_URL": "http://x.test"}
                         ).base_url == "https://y.test/"
    config.write_text('[library]\ntitel = "Typo"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="unknown key 'titel'") as caught:
        load_settings(config, environ={})
    assert caught.value.path == config


def test_an_owner_email_locks_the_feed(rendered: Rendered, tmp_path: Path) -> None:
    """With an owner e-mail the feed names it and is locked to it."""
    output = tmp_path / "audio"
    shutil.copytree(rendered.output, output)
    publish_library(output, Settings(base_url=BASE, email="owner@example.com",
                                     title="Our Stories"), now=FIRST)
    root = channel(output)
    assert root.findtext("title") == "Our Stories"
    assert root.findtext("itunes:owner/itunes:email", namespaces=NS) == "owner@example.com"
    locked = root.find("podcast:locked", NS)
    assert locked is not None and locked.text == "yes"
    assert locked.get("owner") == "owner@example.com"


# OPDS ---------------------------------------------------------------------------------


def test_the_catalogue_is_opds_with_an_epub_for_every_entry(output: Path) -> None:
    """catalog.xml parses as Atom; each entry acquires an existing EPUB and shows its cover."""
    parsed = feedparser.parse((output / "catalog.xml").read_bytes())
    assert not parsed.bozo and parsed.version == "atom10"
    assert len(parsed.entries) == 2
    root = ET.parse(output / "catalog.xml").getroot()
    for entry in root.findall("atom:entry", NS):
        links = {link.get("rel"): link for link in entry.findall("atom:link", NS)}
        acquisition = links["http://opds-spec.org/acquisition"]
        assert acquisition.get("type") == "application/epub+zip"
        epub = output / (acquisition.get("href") or "")
        assert epub.is_file() and epub.suffix == ".epub"
        assert int(acquisition.get("length", "")) == epub.stat().st_size
        for relation in ("http://opds-spec.org/image", "http://opds-spec.org/image/thumbnail"):
            assert (output / (links[relation].get("href") or "")).is_file()
        assert entry.findtext("atom:id", namespaces=NS, default="").startswith("urn:uuid:")
    self_link = root.find("atom:link[@rel='self']", NS)
    assert self_link is not None
    assert "profile=opds-catalog" in (self_link.get("type") or "")


# audiobookshelf -------------------------------------------------------------------------


def test_audiobookshelf_sidecars(output: Path) -> None:
    """metadata.json has the chapters, author and narrator; desc.txt leads with the content
    note; reader.txt names the narrator."""
    for slug in ("small", "tricky"):
        book = manifest(output / slug)
        data = json.loads((output / slug / "metadata.json").read_text(encoding="utf-8"))
        assert data["title"] == book["title"] and data["authors"] == [book["author"]]
        assert data["narrators"] == [book["narrator"]]
        assert data["language"] == book["language"]
        assert [(c["title"], c["start"], c["end"]) for c in data["chapters"]] == [
            (c["title"], c["start_ms"] / 1000, c["end_ms"] / 1000) for c in book["chapters"]]
        description = (output / slug / "desc.txt").read_text(encoding="utf-8")
        assert description.startswith(f"Content note: {book['content_note']}")
        assert (output / slug / "reader.txt").read_text(encoding="utf-8") == \
            book["narrator"] + "\n"
        assert "metadata.json" in book["files"]


# The preview server subscribes --------------------------------------------------------


@pytest.fixture(scope="module")
def served(output: Path) -> Iterator[str]:
    """`serve` on the output folder, on a free port; yields its URL."""
    server = make_server(output, port=0, library=Settings())
    start_in_thread(server)
    yield server.url
    server.shutdown()
    server.server_close()


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET"
         ) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                       headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_a_podcast_app_subscribes_to_the_served_library(served: str, output: Path) -> None:
    """The served feed gives the server's own addresses; an app fetches it, then HEADs and
    fetches a range of an enclosure."""
    status, headers, body = _get(served + "feed.xml")
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    parsed = podcastparser.parse(served + "feed.xml", io.BytesIO(body))
    assert len(parsed["episodes"]) == 2
    enclosure = parsed["episodes"][0]["enclosures"][0]
    assert enclosure["url"].startswith(served)
    status, headers, _ = _get(enclosure["url"], method="HEAD")
    assert status == 200 and int(headers["content-length"]) == enclosure["file_size"]
    status, headers, part = _get(enclosure["url"], {"Range": "bytes=1000-1999"})
    assert status == 206 and headers["content-type"] == "audio/mpeg"
    assert headers["content-range"] == f"bytes 1000-1999/{enclosure['file_size']}"
    assert part == local(output, enclosure["url"], served).read_bytes()[1000:2000]
    for url in feed_urls_of(body):
        assert local(output, url, served).is_file(), url


def feed_urls_of(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return [value for element in root.iter() for name, value in element.attrib.items()
            if name in ("url", "href", "uri")]


def test_the_served_page_and_catalogue(served: str) -> None:
    """The served library page shows the feed's address; the catalogue has its OPDS type."""
    status, headers, body = _get(served)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert f'<a href="{served}feed.xml">{served}feed.xml</a>'.encode() in body
    status, headers, _ = _get(served + "catalog.xml")
    assert status == 200 and "profile=opds-catalog" in headers["content-type"]


# The library page ------------------------------------------------------------------------


def test_library_page_structure(output: Path) -> None:
    """lang, one h1, the skip link first, landmarks, every edition with links to its files."""
    page = outline(output)
    assert page.all("html")[0]["lang"] == "en-GB"
    assert len(page.all("h1")) == 1
    first = next((tag, values) for tag, values in page.elements if tag in FOCUSABLE)
    assert first == ("a", {"class": "skip-link", "href": "#main"})
    for landmark in ("header", "main", "footer"):
        assert page.all(landmark), landmark
    hrefs = [values["href"] for values in page.all("a")]
    assert BASE + "feed.xml" in hrefs and BASE + "catalog.xml" in hrefs
    for slug in ("small", "tricky"):
        for name in ("", f"{slug}.m4b", f"{slug}.mp3", f"{slug}.epub"):
            assert f"{slug}/{name}" in hrefs
            assert (output / slug / (name or "index.html")).is_file()
    text = " ".join(" ".join(page.text).split())
    for slug in ("small", "tricky"):
        assert manifest(output / slug)["content_note"] in text
    assert "computer-generated speech" in text
    html = (output / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(" in html
    assert "Tricks &amp; &lt;Traps&gt;" in html


@pytest.mark.browser
@pytest.mark.parametrize("setting", ["desktop", "dark", "narrow"])
def test_library_page_passes_axe(browser: Any, axe_source: str,  # noqa: F811
                                 served: str, setting: str) -> None:
    """axe-core finds no WCAG 2.0-2.2 A/AA violation on the library page, light or dark,
    wide or narrow."""
    context: dict[str, Any] = {"dark": {"color_scheme": "dark"},
                               "narrow": {"viewport": NARROW}}.get(setting, {})
    page = browser.new_context(**{"viewport": DESKTOP, **context}).new_page()
    page.goto(served, wait_until="load")
    assert axe_violations(page, axe_source, least_passes=15) == []
    overflow = page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth")
    assert overflow <= 0
    page.context.close()


@pytest.mark.browser
def test_library_keyboard_path(browser: Any, served: str) -> None:  # noqa: F811
    """Tab reaches the skip link first, then the feed's address (with a visible focus
    ring), then an edition; Enter opens the edition's page."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(served, wait_until="load")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == served + "feed.xml"
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert ring[0] != "none" and ring[1] >= 2
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('h3') !== null"):
            break
    else:
        raise AssertionError("Tab never reached an edition")
    title = page.evaluate("document.activeElement.textContent")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.rstrip("/").rsplit("/", 1)[-1] in ("small", "tricky")
    assert page.evaluate("document.querySelector('h1').textContent") == title
    page.context.close()
