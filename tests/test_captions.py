"""Text tracks and podcast chapters: strict WebVTT, one chapter table everywhere, show notes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from mutagen.id3 import ID3

from audioguide.model import ChapterTiming, Timeline
from audioguide.publish.captions import cue_text
from audioguide.publish.podcast import shownotes
from audioguide.script import parse_script
from audioguide.units import hh_mm_ss, mm_ss, vtt_timestamp
from conftest import manifest
from tricky import render_tricky
from vttcheck import INLINE_TIMESTAMP, Cue, VTTError, check_chapters, parse

TOLERANCE_MS = 50


@pytest.fixture(scope="module")
def tricky_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An edition whose titles and text hold &, <script>, --> and quotes."""
    return render_tricky(tmp_path_factory.mktemp("tricky"))


def tracks(folder: Path) -> tuple[list[Cue], list[Cue]]:
    """The caption and chapter cues of an edition, each file checked strictly."""
    captions = parse((folder / "captions.vtt").read_text(encoding="utf-8"))
    chapters = parse((folder / "chapters.vtt").read_text(encoding="utf-8"))
    check_chapters(chapters)
    return captions, chapters


@pytest.mark.parametrize("edition", ["article_edition", "tricky_edition", "small_edition"])
def test_tracks_are_strict_webvtt_with_one_cue_per_sentence_and_chapter(
        edition: str, request: pytest.FixtureRequest) -> None:
    """Both tracks pass the strict checker and hold one cue per sentence and per chapter."""
    check_tracks(request.getfixturevalue(edition))


def check_tracks(folder: Path) -> None:
    """Both tracks are strict WebVTT with one cue per sentence and per chapter, at their times."""
    captions, chapters = tracks(folder)
    book = manifest(folder)
    sentences = [s for c in book["chapters"] for s in c["sentences"]]
    assert [(c.identifier, c.start_ms, c.end_ms, c.text) for c in captions] == [
        (s["id"], s["start_ms"], s["end_ms"], " ".join(s["text"].split())) for s in sentences]
    assert [c.text for c in chapters] == [c["title"] for c in book["chapters"]]
    assert [c.start_ms for c in chapters] == [c["start_ms"] for c in book["chapters"]]
    assert chapters[-1].end_ms == book["duration_ms"]


def test_markup_and_arrows_are_escaped(tricky_edition: Path) -> None:
    """`&`, `<`, `>` are character references in the files and come back as the same text."""
    captions_text = INLINE_TIMESTAMP.sub(
        "", (tricky_edition / "captions.vtt").read_text(encoding="utf-8"))
    chapters_text = (tricky_edition / "chapters.vtt").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chapters_text
    assert 'Q&amp;A: "Arrows" --&gt; \'everywhere\'' in chapters_text
    assert "Tom &amp; Jerry said \"hi\" --&gt; 'bye'." in captions_text
    assert "1 &lt; 2 &amp;&amp; 3 &gt; 2 held on two lines." in captions_text
    captions, chapters = tracks(tricky_edition)
    assert "<script>alert(1)</script>" in [c.text for c in chapters]
    assert 'This note mentions <script>alert("x")</script> & more.' in [c.text for c in captions]


def test_timestamps_and_payloads() -> None:
    """Timestamps always carry hours and milliseconds; payloads are one escaped line."""
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(3_723_456) == "01:02:03.456"
    assert vtt_timestamp(100 * 3_600_000) == "100:00:00.000"
    assert cue_text("a\nb\r\nc\u2028d  e") == "a b c d e"
    assert cue_text("x --> y & <z>") == "x --&gt; y &amp; &lt;z&gt;"


GOOD = "WEBVTT\n\na\n00:00:00.000 --> 00:00:01.000\nOne\n\nb\n00:00:01.000 --> 00:00:02.500\nTwo\n"


@pytest.mark.parametrize(("broken", "reason"), [
    (GOOD.replace("WEBVTT\n\n", "WEBVTT\n"), "blank line"),
    (GOOD.replace("WEBVTT", "WEBVTT FILE"), None),
    (GOOD.replace("WEBVTT", "webvtt"), "WEBVTT"),
    ("\n" + GOOD, "WEBVTT"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:01,000 --> 00:00:02,500"), "timing"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:01.000 --> 00:02.500"), "timing"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:01.00 --> 00:00:02.500"), "timing"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:01.000-->00:00:02.500"), "timing"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:01.000 --> 00:00:01.000"), "ends"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:01.000 --> 00:00:00.500"), "ends"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500", "00:00:00.000 --> 00:00:00.500")
     .replace("00:00:00.000 --> 00:00:01.000", "00:00:00.600 --> 00:00:01.000"), "before"),
    (GOOD.replace("00:00:01.000 --> 00:00:02.500",
                  "00:00:01.000 --> 00:00:02.500 align:start"), "timing"),
    (GOOD.replace("Two", "A --> B"), "-->"),
    (GOOD.replace("Two", "<b>Two</b>"), "raw"),
    (GOOD.replace("Two", "Two <00:00:02.000>words"), None),
    (GOOD.replace("Two", "Two <00:00:01.000>words"), "inline timestamp"),
    (GOOD.replace("Two", "Two <00:00:02.500>words"), "inline timestamp"),
    (GOOD.replace("Two", "A <00:00:02.000>b <00:00:01.500>c"), "inline timestamp"),
    (GOOD.replace("Two", "A <00:00:02.000>b <00:00:02.000>c"), "inline timestamp"),
    (GOOD.replace("Two", "A <00:00:02.00>b"), "raw"),
    (GOOD.replace("Two", "Tom & Jerry"), "raw '&'"),
    (GOOD.replace("Two", "Tom &amp Jerry"), "raw '&'"),
    (GOOD.replace("Two", "Two\nlines"), "one payload line"),
    (GOOD.replace("\nb\n", "\na\n"), "identifier"),
    (GOOD.replace("\n", "\r\n"), "LF"),
    (GOOD.rstrip("\n"), "line break"),
    ("WEBVTT\n\n", "no cues"),
])
def test_checker_rejects_broken_files(broken: str, reason: str | None) -> None:
    """The checker itself is strict: each broken variant of a good file is refused."""
    if reason is None:  # text after WEBVTT and a space, and good inline timestamps, are allowed
        parse(broken)
        return
    with pytest.raises(VTTError, match=re.escape(reason)):
        parse(broken)


@pytest.mark.parametrize(("content", "reason"), [
    ("WEBVTT\n\n00:00:00.500 --> 00:00:01.000\nA\n", "start at 0"),
    ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA\n\n00:00:02.000 --> 00:00:03.000\nB\n",
     "does not start where"),
    ("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nA\n\n00:00:01.000 --> 00:00:03.000\nB\n",
     "does not start where"),
    ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA\n\n00:00:00.000 --> 00:00:01.000\nA\n",
     "does not start where"),
    ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n&#32;\n", "no title"),
])
def test_chapter_checker_rejects_gaps_overlaps_and_repeats(content: str, reason: str) -> None:
    """Chapter cues must start at 0, follow each other without gap or overlap, and differ."""
    with pytest.raises(VTTError, match=re.escape(reason)):
        check_chapters(parse(content))


def ffprobe_chapters(path: Path) -> list[tuple[int, str]]:
    """The M4B's chapters as ffprobe reads them: (start ms, title)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [(round(float(c["start_time"]) * 1000), c["tags"]["title"])
            for c in json.loads(out)["chapters"]]


def mp3_chapters(path: Path) -> list[tuple[int, str]]:
    """The MP3's chapter frames in table-of-contents order: (start ms, title)."""
    tags = ID3(path)
    order = tags.getall("CTOC")[0].child_element_ids
    frames = {frame.element_id: frame for frame in tags.getall("CHAP")}
    return [(frames[i].start_time, str(frames[i].sub_frames["TIT2"])) for i in order]


@pytest.mark.parametrize("edition", ["article_edition", "tricky_edition"])
def test_every_chapter_table_agrees(edition: str, request: pytest.FixtureRequest) -> None:
    """JSON, WebVTT, MP3 and M4B chapters have the same titles and starts within 50 ms."""
    folder = request.getfixturevalue(edition)
    slug = folder.name
    document = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))
    tables = {
        "json": [(round(c["startTime"] * 1000), c["title"]) for c in document["chapters"]],
        "vtt": [(c.start_ms, c.text) for c in tracks(folder)[1]],
        "mp3": mp3_chapters(folder / f"{slug}.mp3"),
        "m4b": ffprobe_chapters(folder / f"{slug}.m4b"),
    }
    reference = tables["vtt"]
    for name, table in tables.items():
        assert [title for _, title in table] == [title for _, title in reference], name
        for (start, _), (expected, _) in zip(table, reference, strict=True):
            assert abs(start - expected) <= TOLERANCE_MS, name


def test_json_chapters_follow_podcasting_2(article_edition: Path) -> None:
    """chapters.json is version 1.2.0 with ascending numeric startTime from 0 and titles."""
    document = json.loads((article_edition / "chapters.json").read_text(encoding="utf-8"))
    assert document["version"] == "1.2.0"
    chapters = document["chapters"]
    assert chapters[0]["startTime"] == 0
    starts = [c["startTime"] for c in chapters]
    assert all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in starts)
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(isinstance(c["title"], str) and c["title"] for c in chapters)
    assert all(c["endTime"] > c["startTime"] for c in chapters)


def test_shownotes_list_chapters_as_spotify_reads_them(article_edition: Path) -> None:
    """The show notes give title, description, content note and `MM:SS Title` lines from 00:00."""
    text = (article_edition / "shownotes.txt").read_text(encoding="utf-8")
    book = manifest(article_edition)
    script = parse_script(Path(__file__).resolve().parent.parent / "script"
                          / "crying-during-sex.md")
    lines = text.splitlines()
    assert lines[0] == script.title
    assert script.description in lines
    assert f"Content note: {script.content_note}" in lines
    stamped = [line for line in lines if re.match(r"^\d{2}:\d{2} ", line)]
    assert [line[6:] for line in stamped] == [c["title"] for c in book["chapters"]]
    assert stamped[0].startswith("00:00 ")
    seconds = [int(line[:2]) * 60 + int(line[3:5]) for line in stamped]
    assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds) >= 3
    for value, chapter in zip(seconds, book["chapters"], strict=True):
        assert abs(value * 1000 - chapter["start_ms"]) <= 500
    assert text.index("Content note:") < text.index(stamped[0])


def test_shownotes_use_hours_for_a_long_book(small_edition: Path) -> None:
    """A book of an hour or more gets HH:MM:SS timestamps on every chapter line."""
    script = parse_script(small_edition.parent.parent / "small.md")
    long = (ChapterTiming(1, "One", "one", 0, 1_800_000, 1_800_000),
            ChapterTiming(2, "Two", "two", 1_800_000, 3_599_000, 1_799_000),
            ChapterTiming(3, "Three", "three", 3_599_000, 3_725_000, 126_000))
    # Only what the show notes read: the script, the timeline and the narrator.
    edition = SimpleNamespace(script=script, timeline=Timeline(long), narrator="n")
    lines = shownotes(edition).splitlines()  # type: ignore[arg-type]
    assert ["00:00:00 One", "00:30:00 Two", "00:59:59 Three"] == [
        line for line in lines if re.match(r"^\d{2}:\d{2}:\d{2} ", line)]
    short = SimpleNamespace(script=script, timeline=Timeline(long[:2]), narrator="n")
    assert "00:00 One" in shownotes(short).splitlines()  # type: ignore[arg-type]
    assert mm_ss(61_400) == "01:01"
    assert hh_mm_ss(3_661_600) == "01:01:02"
