"""Reliability: caches on other file systems, full volumes, user files and colliding slugs.

Whatever the layout of folders and whatever fails, nothing a user had is lost and a
failure is one line naming the file and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import faulty_engines  # noqa: F401  (registers the misbehaving engines)
from audioguide import fsutil, narrate
from audioguide.cli import main
from audioguide.units import size_column as _size
from conftest import SMALL_SCRIPT, render_fake
from test_faults import snapshot

SHM = Path("/dev/shm")


@pytest.fixture
def other_volume(tmp_path: Path) -> Iterator[Path]:
    """A folder on another file system than the test's own folder (a tmpfs)."""
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")  # not Linux
    folder = Path(tempfile.mkdtemp(prefix="audioguide-test-", dir=SHM))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _small(tmp_path: Path) -> Path:
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    return script


def cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr


@pytest.mark.parametrize("layout", ["cache elsewhere", "output elsewhere"])
def test_cache_and_output_on_different_file_systems(tmp_path, other_volume, layout):
    """A render whose cache and output lie on different file systems publishes the same edition."""
    script = _small(tmp_path)
    reference = render_fake(script, tmp_path / "reference", tmp_path / "reference-cache")
    if layout == "cache elsewhere":
        output, cache = tmp_path / "audio", other_volume / "cache"
    else:
        output, cache = other_volume / "audio", tmp_path / "cache"
    assert snapshot(render_fake(script, output, cache).folder) == snapshot(reference.folder)


def test_move_into_copies_across_file_systems(tmp_path, other_volume):
    """A move across file systems leaves the target complete and the source gone."""
    source, target = other_volume / "a.bin", tmp_path / "b.bin"
    source.write_bytes(b"x" * 100_000)
    target.write_bytes(b"old")
    fsutil.move_into(source, target)
    assert target.read_bytes() == b"x" * 100_000
    assert not source.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["b.bin"]


def test_an_unwritable_cache_names_the_cache_option(tmp_path):
    """A cache that cannot be written is one line naming it and --cache, not an env variable."""
    script = _small(tmp_path)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    code, err = cli("render", script, "-o", tmp_path / "audio", "--engine", "fake", "-q",
                    "--cache", blocker)
    assert code == 1
    assert err.startswith(f"audioguide: error: {blocker / 'clips'}: cannot write to the cache")
    assert "--cache" in err and "AUDIOGUIDE_CACHE" not in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "audio" / "small").exists()


@pytest.mark.parametrize("engine", ["fake", "hanging"])
def test_a_full_cache_volume_is_one_line_at_once(tmp_path, monkeypatch, engine):
    """A cache volume without room for a clip stops the render at once: one line, nothing published.

    The hanging engine stands for pyttsx3 in its worker, which waits forever for audio
    that a full volume cannot take.
    """
    script = _small(tmp_path)
    cache = tmp_path / "cache"
    real = shutil.disk_usage

    def nearly_full(path: str | os.PathLike[str]) -> object:
        usage = real(path)
        if Path(path).is_relative_to(cache):
            return usage._replace(free=100_000)
        return usage

    monkeypatch.setattr(narrate.shutil, "disk_usage", nearly_full)
    started = time.monotonic()
    code, err = cli("render", script, "-o", tmp_path / "audio", "--engine", engine, "-q",
                    "--cache", cache)
    assert time.monotonic() - started < 20
    assert code == 1
    assert err == (f"audioguide: error: {cache / 'clips'}: no space left on the cache volume; "
                   "free some space (see `audioguide cache prune`) or choose another cache "
                   "with --cache\n")
    assert not (tmp_path / "audio" / "small").exists()
    assert not list((tmp_path / "audio").glob(".small.staging-*"))


def test_an_engine_meeting_a_full_volume_is_one_line(tmp_path):
    """ENOSPC from the engine's own write is reported as the full cache volume, not a traceback."""
    script = _small(tmp_path)
    code, err = cli("render", script, "-o", tmp_path / "audio", "--engine", "full-volume", "-q",
                    "--cache", tmp_path / "cache")
    assert code == 1
    assert err.startswith(f"audioguide: error: {tmp_path / 'cache' / 'clips'}: no space left "
                          "on the cache volume")
    assert err.count("\n") == 1
    assert not (tmp_path / "audio" / "small").exists()


def test_a_full_volume_while_caching_an_encode_is_one_line(tmp_path, monkeypatch):
    """ENOSPC while moving an encoded segment into the cache names the cache volume."""
    script = _small(tmp_path)

    def full(source: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr("audioguide.encode.move_into", full)
    code, err = cli("render", script, "-o", tmp_path / "audio", "--engine", "fake", "-q",
                    "--cache", tmp_path / "cache")
    assert code == 1
    assert err.startswith(f"audioguide: error: {tmp_path / 'cache' / 'segments'}: no space "
                          "left on the cache volume")
    assert not (tmp_path / "audio" / "small").exists()


# ---------------------------------------------------------------------------
# What a user put in an edition folder, and folders audioguide did not make
# ---------------------------------------------------------------------------

@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The small script, its cache and its published edition: (script, output, cache)."""
    script = _small(tmp_path)
    output, cache = tmp_path / "audio", tmp_path / "cache"
    render_fake(script, output, cache)
    return script, output, cache


def test_files_a_user_added_to_an_edition_are_kept_and_named(published):
    """A re-render carries over files the user put in the edition folder and says so."""
    script, output, cache = published
    folder = output / "small"
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (folder / "extra").mkdir()
    (folder / "extra" / "photo.jpg").write_bytes(b"\xff\xd8 not really a photo")
    (folder / "chapters" / "my-intro.mp3").write_bytes(b"my own recording")
    (folder / "link.txt").symlink_to("notes.txt")
    code, out = cli("render", script, "-o", output, "--cache", cache, "--engine", "fake",
                    "-q", "--force")
    assert code == 0, out
    assert ("kept: 4 files that audioguide did not write: chapters/my-intro.mp3, "
            "extra/photo.jpg, link.txt, notes.txt") in out.splitlines()
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
    assert (folder / "extra" / "photo.jpg").read_bytes() == b"\xff\xd8 not really a photo"
    assert (folder / "chapters" / "my-intro.mp3").read_bytes() == b"my own recording"
    assert os.readlink(folder / "link.txt") == "notes.txt"
    assert "notes.txt" not in json.loads((folder / "manifest.json").read_text())["files"]


def test_check_mentions_files_a_user_added(published):
    """`render --check` says which files in a fresh edition audioguide did not write."""
    script, output, cache = published
    (output / "small" / "notes.txt").write_text("my notes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", "--check", str(script), "-o", str(output),
                                       "--cache", str(cache), "--engine", "fake"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{script}: fresh",
        f"{script}: the edition folder also holds files audioguide did not write "
        "(a render keeps them): notes.txt"]


def test_a_user_file_where_the_new_edition_writes_is_refused(published):
    """A user's file at a name the new edition needs is refused by name; nothing changes."""
    script, output, cache = published
    folder = output / "small"
    # The edition had no page before; the next render writes one where the user's file is.
    render_fake(script, output, cache, formats=("mp3",), force=True)
    (folder / "index.html").write_text("<p>my page</p>\n", encoding="utf-8")
    before = snapshot(folder)
    code, err = cli("render", script, "-o", output, "--cache", cache, "--engine", "fake", "-q")
    assert code == 1
    assert err == (f"audioguide: error: {folder}: holds files that audioguide did not write "
                   "where the new edition puts its own (index.html); move them out of the "
                   "folder and render again\n")
    assert snapshot(folder) == before


@pytest.mark.parametrize("content", ["{}", '{"name": "My App", "start_url": "/", "icons": []}',
                                     '{"audioguide": "0.1", "files": {}}'])
def test_a_manifest_audioguide_did_not_write_is_foreign(tmp_path, content):
    """A folder whose manifest.json is another program's is refused and left untouched."""
    script = _small(tmp_path)
    folder = tmp_path / "audio" / "small"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(content, encoding="utf-8")
    (folder / "app.js").write_text("console.log('mine')\n", encoding="utf-8")
    before = snapshot(folder)
    code, err = cli("render", script, "-o", tmp_path / "audio", "--cache", tmp_path / "cache",
                    "--engine", "fake", "-q")
    assert code == 1
    assert err.startswith(f"audioguide: error: {folder}: exists and was not made by audioguide")
    assert snapshot(folder) == before


# ---------------------------------------------------------------------------
# Scripts that would publish into one folder; chapter tables with limits
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["same slug", "same file name"])
@pytest.mark.parametrize("check", [False, True])
def test_two_scripts_with_one_slug_are_refused_before_any_work(tmp_path, layout, check):
    """Two scripts publishing one edition folder are refused, naming both; nothing is made."""
    if layout == "same slug":
        first, second = tmp_path / "one.md", tmp_path / "two.md"
        text = SMALL_SCRIPT.replace("language: en-US", "language: en-US\nslug: shared")
    else:
        first, second = tmp_path / "a" / "base.md", tmp_path / "b" / "base.md"
        text = SMALL_SCRIPT
    for path in (first, second):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text.replace("second one.", f"second one of {path.parent.name}."),
                        encoding="utf-8")
    output = tmp_path / "audio"
    code, err = cli("render", *(["--check"] if check else []), first, second, "-o", output,
                    "--cache", tmp_path / "cache", "--engine", "fake", "-q")
    assert code == 2
    slug = "shared" if layout == "same slug" else "base"
    assert err == (f"audioguide: error: {second}: publishes into the same edition folder "
                   f"{slug!r} as {first}; give one of them its own `slug:` in the front "
                   "matter\n")
    assert not output.exists() and not (tmp_path / "cache").exists()


def test_the_same_script_twice_is_rendered_once(tmp_path):
    """Naming one script twice renders it once, not a collision with itself."""
    script = _small(tmp_path)
    code, out = cli("render", script, script, "-o", tmp_path / "audio", "--cache",
                    tmp_path / "cache", "--engine", "fake", "-q", "-f", "mp3")
    assert code == 0, out
    assert sum("rendered in" in line for line in out.splitlines()) == 1


def test_m4b_refuses_more_chapters_than_its_nero_list_holds(tmp_path):
    """Past 255 chapters the M4B is refused before any work, saying which format and limit."""
    chapters = "".join(f"## Part {n}\n\nText of part {n}.\n\n" for n in range(1, 257))
    script = tmp_path / "long.md"
    script.write_text(SMALL_SCRIPT.split("## Content note")[0].replace(
        'content_note: "Content note"\n', "") + chapters, encoding="utf-8")
    started = time.monotonic()
    code, err = cli("render", script, "-o", tmp_path / "audio", "--cache", tmp_path / "cache",
                    "--engine", "fake", "-q", "-f", "m4b")
    assert code == 2
    assert err == (f"audioguide: error: {script}: an M4B can list at most 255 chapters in its "
                   "Nero chapter list (ffmpeg would cut the rest); this script has 256: merge "
                   "chapters, or leave out the m4b format\n")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "audio").exists() and not (tmp_path / "cache").exists()


# ---------------------------------------------------------------------------
# A bounded cache
# ---------------------------------------------------------------------------

def _cache_bytes(cache: Path) -> int:
    return sum(p.stat().st_size for kind in ("clips", "segments")
               for p in (cache / kind).rglob("*") if p.is_file())


def test_cache_size_is_in_the_summary_and_the_cache_command(tmp_path):
    """The render summary and `audioguide cache` give the cache's size on disk."""
    script, cache = _small(tmp_path), tmp_path / "cache"
    code, out = cli("render", script, "-o", tmp_path / "audio", "--cache", cache,
                    "--engine", "fake", "-q", "-f", "mp3")
    assert code == 0, out
    size = _cache_bytes(cache)
    assert f"cache: {cache} holds {_size(size)} (see `audioguide cache`)" in out.splitlines()
    clips = len(list((cache / "clips").rglob("*.wav")))
    segments = len(list((cache / "segments").rglob("*.json")))
    code, out = cli("cache", "--cache", cache)
    assert code == 0
    assert out == f"{cache}: {_size(size)} in {clips} clips and {segments} encoded segments\n"


def test_prune_keeps_what_the_editions_use_and_removes_the_rest(tmp_path):
    """After an edit, prune drops the old clip and encodes; the edition re-renders from cache."""
    script, cache, output = _small(tmp_path), tmp_path / "cache", tmp_path / "audio"
    render_fake(script, output, cache)
    script.write_text(SMALL_SCRIPT.replace("This is the second one.", "This one is new."),
                      encoding="utf-8")
    render_fake(script, output, cache)
    before = _cache_bytes(cache)
    code, out = cli("cache", "--cache", cache, "prune", "-o", output)
    assert code == 0, out
    removed, freed = re.match(r".*: removed (\d+) entries \(([\d.]+) (?:KB|MB)\)", out).groups()
    assert int(removed) >= 2  # the edited sentence's clip and its chapter's segment
    assert _cache_bytes(cache) < before
    again = render_fake(script, output, cache, force=True)
    assert again.stats is not None and again.stats.synthesized == 0
    assert again.encoded_chapters == 0


def test_prune_by_size_and_age(tmp_path):
    """--max-size keeps the most recently used within the size; --older-than drops the old."""
    script, cache, output = _small(tmp_path), tmp_path / "cache", tmp_path / "audio"
    render_fake(script, output, cache, formats=("mp3",))
    old = sorted((cache / "clips").rglob("*.wav"))[0]
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    code, out = cli("cache", "--cache", cache, "prune", "--older-than", "30")
    assert code == 0 and out.startswith(f"{cache}: removed 1 entries")
    assert not old.exists()
    code, out = cli("cache", "--cache", cache, "prune", "--max-size", "100KB")
    assert code == 0
    assert _cache_bytes(cache) <= 100_000


def test_prune_refuses_an_output_without_editions(tmp_path):
    """Pruning against a folder with no editions is refused: it would empty the cache."""
    script, cache = _small(tmp_path), tmp_path / "cache"
    render_fake(script, tmp_path / "audio", cache, formats=("mp3",))
    before = _cache_bytes(cache)
    code, err = cli("cache", "--cache", cache, "prune", "-o", tmp_path / "typo")
    assert code == 2
    assert err == (f"audioguide: error: no published editions in {tmp_path / 'typo'}; name the "
                   "output folder with -o, or prune with --older-than or --max-size\n")
    assert _cache_bytes(cache) == before


# ---------------------------------------------------------------------------
# Signals and leftovers
# ---------------------------------------------------------------------------

def test_lock_files_are_removed(published):
    """A render removes its lock file and those that killed renders left behind."""
    script, output, cache = published
    assert not list(output.glob(".*.lock"))
    (output / ".small.lock").write_text("")
    (output / ".other.lock").write_text("")
    render_fake(script, output, cache, force=True, formats=("mp3",))
    assert not list(output.glob(".*.lock"))


def test_an_edition_folder_that_is_a_link_is_rendered_into_its_target(published, tmp_path):
    """Through a link, the edition is published into the link's target; the link stays."""
    script, output, cache = published
    elsewhere = tmp_path / "shelf" / "small"
    elsewhere.parent.mkdir()
    (output / "small").rename(elsewhere)
    (output / "small").symlink_to(elsewhere)
    script.write_text(SMALL_SCRIPT.replace("This is the second one.", "This one is new."),
                      encoding="utf-8")
    code, out = cli("render", script, "-o", output, "--cache", cache, "--engine", "fake", "-q")
    assert code == 0, out
    assert (output / "small").is_symlink()
    assert os.readlink(output / "small") == str(elsewhere)
    sentences = [s["text"] for c in json.loads((elsewhere / "manifest.json").read_text())[
        "chapters"] for s in c["sentences"]]
    assert "This one is new." in sentences
    assert not list(elsewhere.parent.glob(".small.staging-*"))
    code, out = cli("render", "--check", script, "-o", output, "--cache", cache,
                    "--engine", "fake")
    assert code == 0 and out == f"{script}: fresh\n"


def test_a_dangling_link_as_the_edition_folder_is_one_line_naming_it(tmp_path):
    """A link to nothing where the edition goes is an error naming the link and its target."""
    script = _small(tmp_path)
    output = tmp_path / "audio"
    output.mkdir()
    (output / "small").symlink_to(tmp_path / "gone")
    code, err = cli("render", script, "-o", output, "--cache", tmp_path / "cache",
                    "--engine", "fake", "-q")
    assert code == 1
    assert err == (f"audioguide: error: {output / 'small'}: is a link to {tmp_path / 'gone'}, "
                   "which does not exist; create that folder or remove the link\n")
    assert (output / "small").is_symlink()


# ---------------------------------------------------------------------------
# Audio stored once
# ---------------------------------------------------------------------------

def test_identical_audio_in_an_edition_is_stored_once(tmp_path):
    """The talking book's chapter MP3s are hard links to chapters/; the summary says the saving."""
    script = _small(tmp_path)
    result = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("chapters", "daisy"))
    folder = result.folder
    pairs = [(path, folder / "daisy" / path.name) for path in sorted(
        (folder / "chapters").glob("*.mp3"))]
    assert len(pairs) == 3
    for published, talking_book in pairs:
        assert os.path.samefile(published, talking_book)
    assert result.shared == sum(path.stat().st_size for path, _ in pairs)
    code, out = cli("render", script, "-o", tmp_path / "audio", "--cache", tmp_path / "cache",
                    "--engine", "fake", "-q", "--force", "-f", "chapters", "-f", "daisy")
    assert code == 0
    assert (f"shared: {_size(result.shared)} saved by storing identical audio files once "
            "(hard links)") in out.splitlines()


def test_share_identical_keeps_copies_without_hard_links(tmp_path, monkeypatch):
    """Where hard links fail, identical files stay as separate, whole copies."""
    a, b = tmp_path / "a.mp3", tmp_path / "b.mp3"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")

    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(fsutil.os, "link", no_links)
    assert fsutil.share_identical([a, b]) == 0
    assert a.read_bytes() == b.read_bytes() == b"same bytes"
    assert not os.path.samefile(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp3", "b.mp3"]


# ---------------------------------------------------------------------------
# File names of chapters
# ---------------------------------------------------------------------------

def test_daisy_file_names_fit_joliet_and_ncc_has_no_dir_on_html(article_edition):
    """Every DAISY file name is at most 64 characters, each SMIL's audio exists, and
    ncc.html's <html> carries no dir attribute (DAISY Pipeline 2's NCC schema)."""
    daisy = article_edition / "daisy"
    names = [p.name for p in daisy.iterdir()]
    assert max(map(len, names)) <= 64, max(names, key=len)
    for smil in daisy.glob("*.smil"):
        for src in re.findall(r'<audio src="([^"]+)"', smil.read_text(encoding="utf-8")):
            assert (daisy / src).is_file(), src
    html = re.search(r"<html[^>]*>", (daisy / "ncc.html").read_text(encoding="utf-8"))
    assert html is not None and " dir=" not in html.group(0)


def test_chapter_files_sort_in_chapter_order_past_99_chapters(tmp_path):
    """With 101 chapters, every output's chapter file names sort in chapter order."""
    chapters = "".join(f"## Part {n}\n\nPart {n}.\n\n" for n in range(1, 102))
    script = tmp_path / "long.md"
    script.write_text(SMALL_SCRIPT.split("## Content note")[0].replace(
        'content_note: "Content note"\n', "") + chapters, encoding="utf-8")
    folder = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("chapters", "daisy", "epub")).folder
    listed = [c["file"] for c in json.loads((folder / "manifest.json").read_text())["chapters"]]
    assert listed[0] == "chapters/001-part-1.mp3" and listed[-1] == "chapters/101-part-101.mp3"
    assert sorted(listed) == listed
    assert sorted(p.name for p in (folder / "chapters").glob("*.mp3")) == [
        name.split("/")[1] for name in listed]
    smils = sorted(p.name for p in (folder / "daisy").glob("*.smil"))
    assert smils[:2] == ["001.smil", "002.smil"] and smils[-1] == "101.smil"
    playlist = (folder / "long.m3u8").read_text(encoding="utf-8").splitlines()
    assert [line for line in playlist if line.startswith("chapters/")] == listed
    with zipfile.ZipFile(folder / "long.epub") as epub:
        audio = [n for n in epub.namelist() if n.startswith("EPUB/audio/")]
    assert audio == sorted(audio) and audio[-1] == "EPUB/audio/101-part-101.mp3"


def test_chapter_stems_are_padded_to_the_count_and_cut_at_a_word():
    """A chapter's file stem pads its number to the count and keeps within 64 characters."""
    from audioguide.model import Chapter
    from audioguide.publish import MAX_FILE_NAME, chapter_stem

    slug = "what-an-expert-has-to-say-about-emotional-release-and-crying"
    long = Chapter(4, "T", slug, 1, ())
    assert chapter_stem(long, 7) == "04-what-an-expert-has-to-say-about-emotional-release-and"
    assert chapter_stem(Chapter(7, "T", "x" * 60, 1, ()), 1200) == "0007-" + "x" * 53
    for count in (7, 120, 1200):
        assert len(chapter_stem(long, count) + ".xhtml") <= MAX_FILE_NAME


# ---------------------------------------------------------------------------
# Text with nothing to speak
# ---------------------------------------------------------------------------

def test_emoji_only_text_keeps_its_written_form_in_every_reader_output(tmp_path):
    """Emoji paragraphs, and a chapter of only emoji, are in the captions, transcript,
    EPUB and DAISY book, timed as a moment of quiet; the chapter speaks its heading."""
    script = tmp_path / "emoji.md"
    shutil.copy(Path(__file__).parent / "corpus" / "good" / "emoji-only.md", script)
    result = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("mp3", "captions", "page", "epub", "daisy"))
    assert result.stats is not None and result.stats.clips == 6  # 3 headings, 3 sentences
    folder = result.folder
    smiles, party = "\U0001f642\U0001f642\U0001f642", "\U0001f389 \U0001f388 \u2026"
    captions = (folder / "captions.vtt").read_text(encoding="utf-8").splitlines()
    assert smiles in captions and party in captions
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert smiles in page and party in page
    with zipfile.ZipFile(folder / "emoji.epub") as epub:
        text = "".join(epub.read(n).decode() for n in epub.namelist() if n.endswith(".xhtml"))
    assert smiles in text and party in text
    daisy = (folder / "daisy" / "content.html").read_text(encoding="utf-8")
    assert smiles in daisy and party in daisy
    timed = {s["text"]: s["end_ms"] - s["start_ms"] for c in json.loads(
        (folder / "manifest.json").read_text())["chapters"] for s in c["sentences"]}
    assert abs(timed[smiles] - 800) <= 1 and abs(timed[party] - 800) <= 1
