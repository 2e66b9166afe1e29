"""Tests for the render pipeline, reading back the files it publishes (fake engine).

Every number here comes from the written files (ffprobe, ffmpeg, mutagen,
pyloudnorm), never from the code that wrote them; the manifest is the one
exception, and it is itself checked against the files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp4 import MP4, MP4Cover

from audioguide import publish, tags
from audioguide.errors import EncodeError, OutputError, UsageError
from audioguide.script import for_engine, parse_script
from audioguide.tools import ffmpeg, ffprobe_json
from conftest import ARTICLE_SCRIPT, SMALL_SCRIPT, manifest, render_fake, replace_writer
from readback import (
    RATE,
    decode,
    decoded_ms,
    is_png,
    loudness_lufs,
    probe,
    probed_chapters,
    sha256,
    top_level_boxes,
    tree_digests,
    true_peak_dbtp,
)

TOLERANCE_MS = 50
NO_OFFSET = 0xFFFFFFFF
EDITIONS = ["article_edition", "small_edition"]


def script_of(edition: Path) -> Path:
    """The script a session fixture rendered."""
    if edition.name == "crying-during-sex":
        return ARTICLE_SCRIPT
    path = edition.parent.parent / "small.md"
    assert path.is_file()
    return path


def cache_of(edition: Path) -> Path:
    """The clip cache a session fixture rendered with."""
    path = edition.parent.parent / "cache"
    assert path.is_dir()
    return path


def book(edition: Path, extension: str) -> Path:
    return edition / f"{edition.name}.{extension}"


@pytest.fixture(params=EDITIONS)
def edition(request: pytest.FixtureRequest) -> Path:
    """Each of the session's rendered editions in turn."""
    return request.getfixturevalue(request.param)


def _check_chapter_spans(spans: list[tuple[str, float, float]], edition: Path,
                         audio: Path) -> None:
    """Titles are the script's, starts the manifest's, first at 0, contiguous, end at the end."""
    titles = [c.title for c in parse_script(script_of(edition)).chapters]
    starts = [c["start_ms"] for c in manifest(edition)["chapters"]]
    assert [title for title, _, _ in spans] == titles
    assert spans[0][1] == 0
    for (_, start, _), expected in zip(spans, starts, strict=True):
        assert abs(start - expected) <= TOLERANCE_MS
    for (_, _, end), (_, start, _) in zip(spans, spans[1:], strict=False):
        assert abs(end - start) <= 1
    for _, start, end in spans:
        assert end > start
    assert abs(spans[-1][2] - decoded_ms(audio)) <= TOLERANCE_MS


# ---------------------------------------------------------------------------
# M4B
# ---------------------------------------------------------------------------


def test_m4b_chapters_read_back_by_ffprobe(edition: Path) -> None:
    """The M4B's chapters (ffprobe) have the script's titles and the manifest's starts."""
    path = book(edition, "m4b")
    _check_chapter_spans(probed_chapters(path), edition, path)


def test_m4b_nero_chapters_read_back_by_mutagen(edition: Path) -> None:
    """The M4B's Nero chapter list (read by mutagen) matches ffprobe's chapters."""
    chapters = MP4(book(edition, "m4b")).chapters
    assert chapters is not None
    probed = probed_chapters(book(edition, "m4b"))
    assert [c.title for c in chapters] == [title for title, _, _ in probed]
    for chapter, (_, start, _) in zip(chapters, probed, strict=True):
        assert abs(chapter.start * 1000 - start) <= TOLERANCE_MS


def test_m4b_has_a_quicktime_chapter_track(edition: Path) -> None:
    """The M4B also carries the QuickTime chapter text track that Apple players read."""
    streams = probe(book(edition, "m4b"))["streams"]
    assert any(s.get("codec_tag_string") == "text" for s in streams)


def test_m4b_major_brand_is_m4b_with_trailing_space(edition: Path) -> None:
    """The ftyp box's major brand is exactly `M4B ` (with the space)."""
    head = book(edition, "m4b").read_bytes()[:12]
    assert head[4:8] == b"ftyp"
    assert head[8:12] == b"M4B "


def test_m4b_audio_is_aac_lc_mono_44100(edition: Path) -> None:
    """The M4B's audio is AAC-LC, 44.1 kHz, mono."""
    audio = [s for s in probe(book(edition, "m4b"))["streams"] if s["codec_type"] == "audio"]
    assert len(audio) == 1
    stream = audio[0]
    assert (stream["codec_name"], stream["profile"]) == ("aac", "LC")
    assert (int(stream["sample_rate"]), stream["channels"]) == (44100, 1)


def test_m4b_moov_comes_before_mdat(edition: Path) -> None:
    """The movie header comes before the media data, so the book plays while it downloads."""
    kinds = [kind for kind, _ in top_level_boxes(book(edition, "m4b"))]
    assert kinds[0] == b"ftyp"
    assert kinds.index(b"moov") < kinds.index(b"mdat")


def test_moving_the_index_first_is_ffmpegs_faststart(edition: Path, tmp_path: Path) -> None:
    """tags.moov_first makes what ffmpeg's +faststart makes from the same file: the index
    before the audio, every packet where it was in time and bytes, the chapters kept;
    and a file already in that order is left alone."""
    source = book(edition, "m4b")
    made: dict[str, Path] = {}
    for name, flags in (("ours", []), ("ffmpeg", ["-movflags", "+faststart"])):
        made[name] = tmp_path / f"{name}.m4b"
        ffmpeg(["-i", source, "-map", "0", "-c", "copy", *flags, "-f", "mp4", made[name]],
               [made[name]], "remux")
    assert [k for k, _ in top_level_boxes(made["ours"])][-1] == b"moov"
    tags.moov_first(made["ours"])
    kinds = [kind for kind, _ in top_level_boxes(made["ours"])]
    assert kinds.index(b"moov") < kinds.index(b"mdat")

    def packets(path: Path) -> list[str]:
        return ffprobe_json(path, "-show_packets")["packets"]

    def audio(path: Path) -> bytes:
        done = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-c", "copy",
                               "-f", "adts", "-"], capture_output=True, check=True)
        return done.stdout

    assert [(p["stream_index"], p.get("pts"), p["size"]) for p in packets(made["ours"])] == \
        [(p["stream_index"], p.get("pts"), p["size"]) for p in packets(made["ffmpeg"])]
    assert audio(made["ours"]) == audio(made["ffmpeg"]) == audio(source)
    assert probe(made["ours"])["chapters"] == probe(made["ffmpeg"])["chapters"]
    before = made["ours"].read_bytes()
    tags.moov_first(made["ours"])
    assert made["ours"].read_bytes() == before


def test_m4b_tags(edition: Path) -> None:
    """The M4B is tagged as an audiobook with title, author, cover and the narrator disclosed
    (the fake engine's: the fixtures are rendered with it)."""
    script = for_engine(parse_script(script_of(edition)), "fake")
    tags = MP4(book(edition, "m4b")).tags
    assert tags is not None
    assert tags["\xa9nam"] == [script.title]
    assert tags["\xa9ART"] == [script.author]
    assert tags["\xa9alb"] == [script.title]
    assert tags["\xa9gen"] == ["Audiobook"]
    assert tags["stik"] == [2]
    covers = tags["covr"]
    assert len(covers) == 1
    assert covers[0].imageformat == MP4Cover.FORMAT_PNG
    assert is_png(bytes(covers[0]))
    disclosed = [*tags.get("\xa9wrt", []), *tags.get("\xa9cmt", [])]
    assert any(script.narrator in value for value in disclosed)


# ---------------------------------------------------------------------------
# MP3
# ---------------------------------------------------------------------------


def test_mp3_is_id3v2_3(edition: Path) -> None:
    """The whole-book MP3 carries an ID3v2.3 tag (the version players read best)."""
    path = book(edition, "mp3")
    assert path.read_bytes()[:5] == b"ID3\x03\x00"
    assert ID3(path).version == (2, 3, 0)


def test_mp3_chapter_frames(edition: Path) -> None:
    """One top-level ordered CTOC lists every CHAP in time order; each CHAP is well formed."""
    tags = ID3(book(edition, "mp3"))
    tocs = tags.getall("CTOC")
    assert len(tocs) == 1
    toc = tocs[0]
    assert toc.flags & CTOCFlags.TOP_LEVEL and toc.flags & CTOCFlags.ORDERED
    chaps = tags.getall("CHAP")
    ids = [c.element_id for c in chaps]
    assert len(ids) == len(set(ids)) and toc.element_id not in ids
    by_time = sorted(chaps, key=lambda c: c.start_time)
    assert list(toc.child_element_ids) == [c.element_id for c in by_time]
    for chap in chaps:
        assert (chap.start_offset, chap.end_offset) == (NO_OFFSET, NO_OFFSET)
        assert len(chap.sub_frames.getall("TIT2")) == 1
    spans = [(str(c.sub_frames["TIT2"]), float(c.start_time), float(c.end_time))
             for c in by_time]
    _check_chapter_spans(spans, edition, book(edition, "mp3"))


def test_mp3_chapters_read_back_by_ffprobe(edition: Path) -> None:
    """ffprobe reads the same chapters from the MP3 as mutagen does."""
    path = book(edition, "mp3")
    probed = probed_chapters(path)
    by_time = sorted(ID3(path).getall("CHAP"), key=lambda c: c.start_time)
    assert [(str(c.sub_frames["TIT2"]), float(c.start_time), float(c.end_time))
            for c in by_time] == probed
    _check_chapter_spans(probed, edition, path)


def test_mp3_cover_and_genre(edition: Path) -> None:
    """The MP3 embeds the PNG cover and is tagged Audiobook."""
    tags = ID3(book(edition, "mp3"))
    pictures = tags.getall("APIC")
    assert len(pictures) == 1
    assert pictures[0].mime == "image/png" and pictures[0].type == 3
    assert is_png(pictures[0].data)
    assert pictures[0].data == (edition / "cover.png").read_bytes()
    assert tags["TCON"].text == ["Audiobook"]
    assert str(tags["TIT2"]) == parse_script(script_of(edition)).title


# ---------------------------------------------------------------------------
# Loudness, read from the encoded files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["m4b", "mp3"])
def test_book_loudness_is_on_target(edition: Path, extension: str) -> None:
    """The encoded book measures -19 LUFS (within 1 LU) and its true peak is at most -1 dBTP."""
    path = book(edition, extension)
    assert abs(loudness_lufs(path) - (-19.0)) <= 1.0
    assert true_peak_dbtp(path) <= -1.0


def test_chapters_are_as_loud_as_the_book(edition: Path) -> None:
    """Every per-chapter MP3 is within 2 LU of the whole programme."""
    programme = loudness_lufs(book(edition, "mp3"))
    for chapter in manifest(edition)["chapters"]:
        assert abs(loudness_lufs(edition / chapter["file"]) - programme) <= 2.0, chapter["file"]


@pytest.mark.parametrize("extension", ["m4b", "mp3"])
def test_lead_in_has_a_faint_noise_floor(edition: Path, extension: str) -> None:
    """The silence before the first word is below -60 dBFS but not digital zero."""
    first_word_ms = manifest(edition)["chapters"][0]["sentences"][0]["start_ms"]
    samples = decode(book(edition, extension)).astype(np.float64)
    # Keep clear of the encoder's edges and of the first word's onset.
    lead_in = samples[RATE * 50 // 1000:RATE * (first_word_ms - 100) // 1000]
    assert len(lead_in) > RATE // 4
    rms_db = 10 * np.log10(np.mean(lead_in**2))
    assert -90.0 < rms_db < -60.0
    assert np.count_nonzero(lead_in == 0.0) < len(lead_in) // 10


# ---------------------------------------------------------------------------
# Per-chapter MP3s and the playlist
# ---------------------------------------------------------------------------


def test_one_mp3_per_chapter(edition: Path) -> None:
    """Each chapter has `chapters/NN-slug.mp3` with an ID3v2.3 title equal to its heading."""
    script = parse_script(script_of(edition))
    count = len(script.chapters)
    names = [publish.chapter_filename(c, count).split("/")[1] for c in script.chapters]
    assert sorted(p.name for p in (edition / "chapters").iterdir()) == sorted(names)
    for chapter, name in zip(script.chapters, names, strict=True):
        tags = ID3(edition / "chapters" / name)
        assert tags.version == (2, 3, 0)
        assert str(tags["TIT2"]) == chapter.title
        assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.mp3", name)


def test_chapter_mp3s_add_up_to_the_book(edition: Path) -> None:
    """Each chapter file lasts its manifest length: its chapter's span in the book and at
    most 1.5 s of room tone padded on (so it opens and closes as a file should); the
    chapters' spans tile the book."""
    chapters = manifest(edition)["chapters"]
    for chapter in chapters:
        length = decoded_ms(edition / chapter["file"])
        assert abs(length - chapter["file_ms"]) <= TOLERANCE_MS
        span = chapter["end_ms"] - chapter["start_ms"]
        assert span - TOLERANCE_MS <= length <= span + 1500 + TOLERANCE_MS, chapter["file"]
    spans = sum(c["end_ms"] - c["start_ms"] for c in chapters)
    assert abs(spans - decoded_ms(book(edition, "mp3"))) <= TOLERANCE_MS


def test_playlist_lists_chapters_in_order(edition: Path) -> None:
    """The M3U8 playlist lists every chapter file in order with its title and length."""
    script = parse_script(script_of(edition))
    lines = book(edition, "m3u8").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if line and not line.startswith("#")]
    infos = [line for line in lines if line.startswith("#EXTINF:")]
    assert entries == [publish.chapter_filename(c, len(script.chapters))
                       for c in script.chapters]
    assert len(infos) == len(entries)
    for info, entry, chapter in zip(infos, entries, script.chapters, strict=True):
        assert lines.index(info) + 1 == lines.index(entry)
        seconds, title = info.removeprefix("#EXTINF:").split(",", 1)
        assert title.endswith(chapter.title)
        assert abs(int(seconds) - decoded_ms(edition / entry) / 1000) <= 1
        assert (edition / entry).is_file()


# ---------------------------------------------------------------------------
# manifest.json
# ---------------------------------------------------------------------------


def test_manifest_timings_are_monotonic_and_nested(edition: Path) -> None:
    """Chapters tile the book; sentences run forward inside their chapter."""
    content = manifest(edition)
    chapters = content["chapters"]
    assert chapters[0]["start_ms"] == 0
    assert content["duration_ms"] == chapters[-1]["end_ms"]
    previous_end = 0
    for chapter in chapters:
        assert chapter["start_ms"] == previous_end < chapter["end_ms"]
        previous_end = chapter["end_ms"]
        sentence_end = chapter["start_ms"]
        assert chapter["sentences"]
        for sentence in chapter["sentences"]:
            assert sentence_end <= sentence["start_ms"] < sentence["end_ms"] <= chapter["end_ms"]
            sentence_end = sentence["end_ms"]


def test_room_tone_at_head_and_tail(edition: Path) -> None:
    """The book opens with 0.5-1 s of room tone and closes with 1-5 s after the last word."""
    chapters = manifest(edition)["chapters"]
    assert 500 <= chapters[0]["sentences"][0]["start_ms"] <= 1000
    for extension in ("m4b", "mp3"):
        tail = decoded_ms(book(edition, extension)) - chapters[-1]["sentences"][-1]["end_ms"]
        assert 1000 <= tail <= 5000, extension


def _onset_ms(samples: np.ndarray, near_ms: float) -> float | None:
    """Where sound first rises above -45 dBFS (2 ms windows), searching from 60 ms before."""
    window = RATE * 2 // 1000
    first = max(0, round((near_ms - 60) * RATE / 1000))
    for start in range(first, min(len(samples), first + RATE * 300 // 1000), window):
        piece = samples[start:start + window].astype(np.float64)
        if 10 * np.log10(np.mean(piece**2) + 1e-20) > -45:
            return start * 1000 / RATE
    return None


def test_sentences_start_where_the_manifest_says(edition: Path) -> None:
    """Each sentence's sound begins at its manifest time (20 ms) in the books and chapter files."""
    chapters = manifest(edition)["chapters"]
    for extension in ("m4b", "mp3"):
        samples = decode(book(edition, extension))
        for sentence in (s for c in chapters for s in c["sentences"]):
            onset = _onset_ms(samples, sentence["start_ms"])
            assert onset is not None and abs(onset - sentence["start_ms"]) <= 20, (
                extension, sentence["id"], onset, sentence["start_ms"])
    for chapter in chapters:
        samples = decode(edition / chapter["file"])
        for sentence in chapter["sentences"]:
            expected = sentence["start_in_chapter_ms"]
            onset = _onset_ms(samples, expected)
            assert onset is not None and abs(onset - expected) <= 20, (
                chapter["file"], sentence["id"], onset, expected)


def test_every_chapter_opens_with_its_heading(edition: Path) -> None:
    """The first sentence spoken in each chapter is its heading."""
    for chapter in manifest(edition)["chapters"]:
        assert chapter["sentences"][0]["text"] == chapter["title"]


def test_manifest_sentences_are_the_scripts(edition: Path) -> None:
    """The manifest lists every sentence of the script, in order, with its text."""
    script = parse_script(script_of(edition))
    listed = [(s["id"], s["text"]) for c in manifest(edition)["chapters"] for s in c["sentences"]]
    assert listed == [(s.id, s.text) for s in script.sentences()]


def test_manifest_hashes_match_the_files(edition: Path) -> None:
    """Every file in the edition is listed in the manifest with its true size and sha256."""
    files = manifest(edition)["files"]
    on_disk = {name: digest for name, digest in tree_digests(edition).items()
               if name != "manifest.json"}
    assert set(files) == set(on_disk)
    for name, info in files.items():
        assert info["sha256"] == on_disk[name]
        assert info["bytes"] == (edition / name).stat().st_size


# ---------------------------------------------------------------------------
# The clip cache and freshness
# ---------------------------------------------------------------------------


@pytest.fixture
def small_copy(small_edition: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The small script, its cache and its edition, copied where a test may change them."""
    script = tmp_path / "small.md"
    shutil.copy2(script_of(small_edition), script)
    cache = tmp_path / "cache"
    shutil.copytree(cache_of(small_edition), cache)
    output = tmp_path / "audio"
    shutil.copytree(small_edition, output / small_edition.name)
    return script, cache, output


def test_second_render_synthesizes_nothing(small_edition: Path, tmp_path: Path) -> None:
    """Rendering the same script with a warm cache into a new folder synthesizes no clip."""
    result = render_fake(script_of(small_edition), tmp_path / "audio", cache_of(small_edition))
    assert not result.fresh
    assert result.stats is not None
    assert (result.stats.synthesized, result.stats.clips) == (0, len(
        parse_script(script_of(small_edition)).sentences()))
    assert tree_digests(result.folder) == tree_digests(small_edition)


def test_one_edited_sentence_synthesizes_one_clip(small_copy: tuple[Path, Path, Path]) -> None:
    """Editing one sentence synthesizes exactly one clip."""
    script, cache, output = small_copy
    text = script.read_text(encoding="utf-8")
    assert text.count("This is the second one.") == 1
    script.write_text(text.replace("This is the second one.", "This one is new."),
                      encoding="utf-8")
    result = render_fake(script, output, cache)
    assert result.stats is not None and result.stats.synthesized == 1
    assert "This one is new." in [s["text"] for c in manifest(result.folder)["chapters"]
                                  for s in c["sentences"]]


def test_noop_render_is_fresh_and_touches_nothing(small_copy: tuple[Path, Path, Path]) -> None:
    """Rendering an unchanged script again reports fresh and changes no file or mtime."""
    script, cache, output = small_copy
    folder = output / "small"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    result = render_fake(script, output, cache)
    assert result.fresh and result.folder == folder
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_force_renders_again(small_copy: tuple[Path, Path, Path]) -> None:
    """--force renders a fresh edition again, from the cache, to the same bytes."""
    script, cache, output = small_copy
    folder = output / "small"
    before = tree_digests(folder)
    inode = folder.stat().st_ino
    result = render_fake(script, output, cache, force=True)
    assert not result.fresh
    assert result.stats is not None and result.stats.synthesized == 0
    assert folder.stat().st_ino != inode  # a new folder was swapped in
    assert tree_digests(folder) == before


def test_damaged_cache_clip_is_synthesized_again(small_copy: tuple[Path, Path, Path]) -> None:
    """A truncated clip in the cache is detected and synthesized again, not used."""
    script, cache, output = small_copy
    clips = sorted((cache / "clips").rglob("*.wav"))
    assert clips
    victim = clips[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    before = tree_digests(output / "small")
    result = render_fake(script, output, cache, force=True)
    assert result.stats is not None and result.stats.synthesized == 1
    assert tree_digests(output / "small") == before


# ---------------------------------------------------------------------------
# Atomic publish
# ---------------------------------------------------------------------------


def test_failed_render_leaves_previous_edition_intact(
        small_copy: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer failing midway leaves the published edition byte-identical and no staging."""
    script, cache, output = small_copy
    folder = output / "small"
    before = tree_digests(folder)

    def fail(edition: publish.Edition) -> list[Path]:
        raise EncodeError("the encoder failed", path=edition.folder)

    replace_writer(monkeypatch, "m4b", fail)
    with pytest.raises(EncodeError):
        render_fake(script, output, cache, force=True)
    assert tree_digests(folder) == before
    assert not list(output.glob(".small.staging-*"))


def test_failed_first_render_publishes_nothing(small_edition: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A first render that fails leaves no edition folder and no staging folder."""
    def fail(edition: publish.Edition) -> list[Path]:
        raise EncodeError("the encoder failed")

    replace_writer(monkeypatch, "mp3", fail)
    output = tmp_path / "audio"
    with pytest.raises(EncodeError):
        render_fake(script_of(small_edition), output, cache_of(small_edition))
    assert not (output / "small").exists()
    assert not list(output.glob(".small.staging-*"))


def test_foreign_folder_is_refused_and_untouched(small_edition: Path, tmp_path: Path) -> None:
    """An output folder that audioguide did not make is refused with OutputError, untouched."""
    output = tmp_path / "audio"
    folder = output / "small"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("my own notes\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        render_fake(script_of(small_edition), output, cache_of(small_edition))
    assert str(folder) in caught.value.format()
    assert "not made by audioguide" in caught.value.format()
    assert tree_digests(folder) == {"notes.txt": sha256(folder / "notes.txt")}
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "my own notes\n"
    assert not list(output.glob(".small.staging-*"))


def test_file_in_place_of_the_edition_is_refused(small_edition: Path, tmp_path: Path) -> None:
    """A file where the edition folder would go is refused with OutputError and kept."""
    output = tmp_path / "audio"
    output.mkdir()
    (output / "small").write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(OutputError):
        render_fake(script_of(small_edition), output, cache_of(small_edition))
    assert (output / "small").read_text(encoding="utf-8") == "not a folder\n"


def test_mp3_refuses_more_chapters_than_its_table_can_list(
        small_copy: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the CTOC's limit the MP3 is refused before any work, not written corrupt."""
    from audioguide.publish import builtin

    script, cache, output = small_copy
    before = tree_digests(output / "small")
    monkeypatch.setattr(builtin, "MP3_MAX_CHAPTERS", 2)
    with pytest.raises(UsageError) as caught:
        render_fake(script, output, cache, force=True)
    message = caught.value.format()
    assert message.startswith(f"{script}: ") and "at most 2 chapters" in message
    assert "has 3" in message
    assert tree_digests(output / "small") == before


# ---------------------------------------------------------------------------
# Titles that the container formats must escape
# ---------------------------------------------------------------------------

TRICKY_SCRIPT = """\
---
title: "Odd = Titles; #1 \\\\ \\"quoted\\""
author: "Zoë Ångström"
source: "Test Publication"
language: en-US
narrator: "Synthetic voice: test engine"
---

## A = B; #2 \\ done

Some text here.

## Café – naïve “quotes” & more

More text here.

## 1987

The end.
"""


def test_special_characters_survive_in_every_chapter_table(tmp_path: Path) -> None:
    """Titles with = ; # \\ quotes and accents read back unchanged from M4B, MP3 and playlist."""
    script = tmp_path / "tricky.md"
    script.write_text(TRICKY_SCRIPT, encoding="utf-8")
    titles = ["A = B; #2 \\ done", "Café – naïve “quotes” & more", "1987"]
    assert [c.title for c in parse_script(script).chapters] == titles
    result = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("chapters", "mp3", "m4b"))
    folder = result.folder
    book_title = 'Odd = Titles; #1 \\ "quoted"'
    for extension in ("m4b", "mp3"):
        assert [title for title, _, _ in probed_chapters(book(folder, extension))] == titles
    assert [c.title for c in MP4(book(folder, "m4b")).chapters] == titles
    assert MP4(book(folder, "m4b")).tags["\xa9nam"] == [book_title]
    tags = ID3(book(folder, "mp3"))
    assert str(tags["TIT2"]) == book_title and str(tags["TPE1"]) == "Zoë Ångström"
    assert [str(c.sub_frames["TIT2"]) for c in sorted(
        tags.getall("CHAP"), key=lambda c: c.start_time)] == titles
    for chapter, title in zip(manifest(folder)["chapters"], titles, strict=True):
        assert str(ID3(folder / chapter["file"])["TIT2"]) == title
    playlist = book(folder, "m3u8").read_text(encoding="utf-8")
    assert [line.split(" - ", 1)[1] for line in playlist.splitlines()
            if line.startswith("#EXTINF:")] == titles


# ---------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------


def test_cold_renders_are_byte_identical(small_edition: Path, tmp_path: Path) -> None:
    """A cold render (new cache, new folder) writes exactly the bytes of another cold render."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = render_fake(script, tmp_path / "audio", tmp_path / "cache")
    assert result.stats is not None and result.stats.synthesized == result.stats.clips
    assert tree_digests(result.folder) == tree_digests(small_edition)
