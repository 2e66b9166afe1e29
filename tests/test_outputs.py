"""The output seam: a package adds an output by declaring it, and every listing follows."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from audioguide import publish
from audioguide.errors import UsageError
from audioguide.publish import Declared, Download, Edition, Output
from audioguide.render import all_formats
from audioguide.server import content_type
from conftest import SMALL_SCRIPT, manifest, render_fake
from test_page import outline


def write_transcript_zip(edition: Edition) -> list[Path]:
    """A third party's writer: the captions and show notes in one archive."""
    path = edition.path("extras.zip")
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("captions.vtt", "shownotes.txt"):
            archive.write(edition.path(name), name)
    return [path]


EXTRAS = Declared(
    "extras", write_transcript_zip, after=("captions", "podcast"),
    media_types={"extras.zip": "application/x-audioguide-extras"},
    listed=lambda script: (Download("extras.zip", "Transcript and notes", "ZIP",
                                    "application/x-audioguide-extras"),))


@pytest.fixture
def extras(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The extras output registered for one test, as an entry point would register it."""
    registry = dict(publish.outputs())
    monkeypatch.setattr(publish, "_REGISTRY", registry)
    publish.register(EXTRAS)
    from audioguide import server

    server._media_types.cache_clear()
    yield
    server._media_types.cache_clear()


def test_builtin_outputs_come_from_the_entry_point() -> None:
    """The built-in outputs are found through the audioguide.outputs entry point, in order."""
    from importlib.metadata import entry_points

    points = [point for point in entry_points(group=publish.ENTRY_POINTS)
              if point.dist is not None and point.dist.name == "audioguide"]
    declared = [output.name for point in points for output in point.load()]
    assert declared == list(publish.format_names())[:len(declared)]
    assert all(isinstance(output, Output) for output in publish.outputs().values())
    assert all_formats() == ("m4b", "mp3", "chapters", "epub", "captions", "podcast", "daisy",
                             "audiobookshelf", "page")


def test_a_third_party_output_is_written_listed_and_typed(tmp_path: Path, extras: None) -> None:
    """A registered output is a format, runs after what it reads, and its file is listed by
    the page, recorded in the manifest and served with its media type."""
    assert "extras" in all_formats()
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    folder = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("mp3", "captions", "podcast", "extras", "page")).folder
    with zipfile.ZipFile(folder / "extras.zip") as archive:
        assert sorted(archive.namelist()) == ["captions.vtt", "shownotes.txt"]
        assert archive.read("captions.vtt") == (folder / "captions.vtt").read_bytes()
    assert "extras.zip" in manifest(folder)["files"]
    links = {a["href"] for a in outline(folder).all("a")}
    assert "extras.zip" in links
    assert content_type(folder / "extras.zip") == "application/x-audioguide-extras"


def test_outputs_that_wait_for_each_other_are_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Two outputs that each run after the other fail with one clear UsageError, not a hang."""
    registry = dict(publish.outputs())
    monkeypatch.setattr(publish, "_REGISTRY", registry)
    publish.register(Declared("one", write_transcript_zip, after=("two",)))
    publish.register(Declared("two", write_transcript_zip, after=("one",)))
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    with pytest.raises(UsageError, match="the outputs one, two each wait for another"):
        render_fake(script, tmp_path / "audio", tmp_path / "cache", formats=("one", "two"))
    assert not (tmp_path / "audio" / "small").exists()


def test_the_mp3_pre_flight_check_belongs_to_the_mp3_output(small_edition: Path) -> None:
    """The MP3's chapter limit is its own check, run without any other output's (the
    M4B has its own; the captions have none)."""
    from audioguide.script import parse_script

    script = parse_script(small_edition.parent.parent / "small.md")
    publish.output("mp3").check(script)
    chapters = script.chapters * 86
    many = type(script)(**{**script.__dict__, "chapters": chapters})
    with pytest.raises(UsageError, match="at most 255 chapters"):
        publish.output("mp3").check(many)
    publish.output("captions").check(many)
