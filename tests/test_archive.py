"""An archive: many scripts side by side, shards sharing one output and one cache, the
cache's many writers, and `audioguide plan`.

The editions of a dozen small scripts rendered as three concurrent shards are the
editions of one unsharded render, byte for byte; a shard killed mid-render and run again
completes from what the cache holds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import podcastparser
import pytest
from click.testing import CliRunner

from audioguide import cache as cache_module
from audioguide.batch import parse_shard, shard_of
from audioguide.cli import main
from audioguide.encode import EncodeCache
from audioguide.errors import UsageError
from audioguide.narrate import ClipCache
from audioguide.publish import manifest as manifest_file
from readback import probe, tree_digests

SHARDS = 3
# Enough to know an edition is whole and playable; fewer formats keep the dozen quick.
FORMATS = ("-f", "mp3", "-f", "m4b", "-f", "captions")
BASE = "https://example.org/audio/"
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve")
# Every script ends with the same credits: their clips are written by several shards at once.
STORY = textwrap.dedent("""\
    ---
    title: "Story {number}"
    author: "Writer {number}"
    source: "The Test Archive"
    language: en-US
    narrator: "Synthetic voice: test engine"
    pauses:
      sentence: 200ms
      paragraph: 500ms
      chapter: 1s
    ---

    ## Story {number}

    This is story {number} of the archive. {body}
    {credits}
    Written for the archive tests. Narrated by a synthetic voice.
    """)


def write_archive(folder: Path, count: int = len(NUMBERS), chapters: int = 1) -> list[Path]:
    """Small scripts (one chapter each, or a second for the credits), each with text of its
    own and the same credits."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, number in enumerate(NUMBERS[:count]):
        body = " ".join(f"Its line {n} counts to {number}." for n in range(1 + index % 3))
        path = folder / f"story-{number}.md"
        credits = "\n## Credits\n" if chapters == 2 else ""
        path.write_text(STORY.format(number=number, body=body, credits=credits),
                        encoding="utf-8")
        paths.append(path)
    return paths


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "audioguide.cli", *map(str, args)]


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def render_args(scripts: Path, output: Path, cache: Path, *extra: str) -> list[str | Path]:
    return ["render", *sorted(scripts.glob("*.md")), "-o", output, "--cache", cache,
            "--engine", "fake", *FORMATS, *extra]


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def editions(output: Path) -> dict[str, dict[str, str]]:
    """Every edition folder below `output` with the sha256 of each of its files."""
    return {folder.name: tree_digests(folder) for folder in sorted(output.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")}


def rendered_lines(stdout: str) -> list[str]:
    """The slugs of the editions a render says it rendered (not those up to date)."""
    return [Path(line.split(":")[0]).name for line in stdout.splitlines()
            if ": rendered in " in line]


def synthesized(stdout: str) -> int:
    return sum(int(n) for n in re.findall(r"; (\d+) of \d+ sentences synthesized", stdout))


def assert_valid(output: Path, slugs: list[str]) -> None:
    """Each edition's files are those its manifest lists, unchanged, and its audio plays
    for the length the manifest gives."""
    for slug in slugs:
        folder = output / slug
        content = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest_file.problems(folder, content["input_key"]) == [], slug
        for name in (f"{slug}.mp3", f"{slug}.m4b"):
            seconds = float(probe(folder / name)["format"]["duration"])
            assert abs(seconds * 1000 - content["duration_ms"]) < 100, name


def assert_cache_whole(root: Path, killed: bool = False) -> None:
    """Every entry in the cache reads back whole, and nothing half-written is left (but by
    a writer that was killed: its files are only ever under a temporary name)."""
    found, leftovers = cache_module.entries(root)
    assert all(p.name.startswith(".") for p in leftovers) if killed else leftovers == []
    clips, encodes = ClipCache(root), EncodeCache(root)
    for entry in found:
        if entry.kind == "clips":
            names = sorted(p.name for p in entry.files)
            assert f"{entry.key}.wav" in names and all(
                n == f"{entry.key}.wav" or re.fullmatch(rf"{entry.key}\.[0-9a-f]{{16}}\.json", n)
                for n in names), names  # the clip, and the word times of each WAV written
            assert clips.get(entry.key) is not None, entry.key
        else:
            assert sorted(p.suffix for p in entry.files) == [".aac", ".json", ".mp3"]
            assert encodes.get(entry.key) is not None, entry.key


@dataclass(frozen=True)
class Reference:
    """The dozen scripts and their editions as one unsharded render made them."""

    scripts: Path
    output: Path
    digests: dict[str, dict[str, str]]
    stdout: str


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The dozen scripts rendered by one command, side by side (two at a time)."""
    base = tmp_path_factory.mktemp("reference")
    write_archive(base / "script")
    process = start(*render_args(base / "script", base / "audio", base / "cache", "-j", "2"))
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return Reference(base / "script", base / "audio", editions(base / "audio"), stdout)


def test_a_render_of_many_scripts_says_one_line_per_edition(reference: Reference) -> None:
    """Scripts rendered side by side are one line per edition as it is finished, then a
    total and the library, with no progress bars interleaved."""
    lines = reference.stdout.splitlines()
    assert sorted(rendered_lines(reference.stdout)) == sorted(reference.digests)
    assert len(reference.digests) == len(NUMBERS)
    assert lines[len(NUMBERS)].startswith(f"{len(NUMBERS)} editions: {len(NUMBERS)} rendered, "
                                          "0 up to date, 0 failed, in ")
    assert "\r" not in reference.stdout
    assert any("library of 12 editions" in line for line in lines)
    assert_valid(reference.output, sorted(reference.digests))


def test_three_concurrent_shards_publish_each_edition_once(reference: Reference,
                                                           tmp_path: Path) -> None:
    """Three concurrent shards into one output and cache publish every edition exactly
    once, whole and byte for byte as one render does, with each cache entry whole, and
    `publish` then lists every edition."""
    output, cache = tmp_path / "audio", tmp_path / "cache"
    shards = [start(*render_args(reference.scripts, output, cache, "-j", "1", "--shard",
                                 f"{i}/{SHARDS}")) for i in range(1, SHARDS + 1)]
    results = [process.communicate(timeout=600) for process in shards]
    for process, (_, stderr) in zip(shards, results, strict=True):
        assert process.returncode == 0, stderr
        assert "run `audioguide publish" in stderr
    published = [slug for stdout, _ in results for slug in rendered_lines(stdout)]
    assert sorted(published) == sorted(reference.digests)  # each exactly once
    assert all(rendered_lines(stdout) for stdout, _ in results)  # a dozen split three ways
    assert not (output / "feed.xml").exists()  # the library is the last step's
    assert editions(output) == reference.digests
    assert_valid(output, published)
    assert_cache_whole(cache)
    code, stdout, stderr = cli("publish", output, "--base-url", BASE)
    assert code == 0, stderr
    with (output / "feed.xml").open("rb") as stream:
        feed = podcastparser.parse(BASE + "feed.xml", stream)
    ids = {f"urn:uuid:{manifest_file.edition_id(slug)}" for slug in reference.digests}
    assert {episode["guid"] for episode in feed["episodes"]} == ids
    # Every entry is in use, wherever another machine would mount the output folder.
    moved = output.rename(tmp_path / "mounted-elsewhere")
    code, stdout, stderr = cli("cache", "--cache", cache, "prune", "-o", moved, "--dry-run")
    assert code == 0, stderr
    assert stdout.startswith(f"{cache}: would remove 0 entries (")


def test_a_killed_shard_completes_from_the_cache_when_run_again(reference: Reference,
                                                               tmp_path: Path) -> None:
    """A shard killed mid-render (SIGKILL) and run again finishes the unsharded render's
    editions, synthesizing only what neither its first run nor another shard cached."""
    output, cache = tmp_path / "audio", tmp_path / "cache"
    sizes = Counter(shard_of(slug, SHARDS) for slug in reference.digests)
    index = max(range(1, SHARDS + 1), key=lambda i: sizes[i])
    assert sizes[index] >= 3
    victim = start(*render_args(reference.scripts, output, cache, "-j", "1", "--shard",
                                f"{index}/{SHARDS}"))
    other = 1 + index % SHARDS  # one other shard beside it is enough to share with
    others = [start(*render_args(reference.scripts, output, cache, "-j", "1", "--shard",
                                 f"{other}/{SHARDS}"))]
    assert victim.stdout is not None
    first = victim.stdout.readline()  # its first edition is published
    assert ": rendered in " in first, victim.communicate()[1]
    time.sleep(0.3)  # into the next one
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    for process in others:
        assert process.wait(timeout=600) == 0
    code, plan_out, _ = cli("plan", *sorted(reference.scripts.glob("*.md")), "-o", output,
                            "--cache", cache, "--engine", "fake", *FORMATS, "--shard",
                            f"{index}/{SHARDS}")
    assert code == 0
    to_synthesize = int(re.search(r"total: .*?; (\d+) sentences to synthesize",
                                  plan_out).group(1))
    rerun = start(*render_args(reference.scripts, output, cache, "-j", "1", "--shard",
                               f"{index}/{SHARDS}"))
    stdout, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert "up to date" in stdout  # what the killed run published stands
    assert synthesized(stdout) == to_synthesize
    # The credits every script shares were cached by the other shards (or the first run).
    own_sentences = sum(int(n) for n in re.findall(r": stale .*? of (\d+) sentences to",
                                                   plan_out))
    assert 0 < to_synthesize < own_sentences  # killed with editions still to make
    made = editions(output)
    assert made == {slug: reference.digests[slug] for slug in reference.digests
                    if shard_of(slug, SHARDS) in (index, other)}
    assert_cache_whole(cache, killed=True)
    assert_valid(output, sorted(made))


def test_a_failing_script_is_named_and_the_others_are_published(tmp_path: Path) -> None:
    """Among several scripts, each that fails is one error line naming its file, and the
    others are published before the render exits 1."""
    scripts = write_archive(tmp_path / "script", 4)
    broken = tmp_path / "script" / "broken.md"
    broken.write_text("---\ntitle: x\n---\n\n### Not a chapter\n", encoding="utf-8")
    output = tmp_path / "audio"
    (output / "story-two").mkdir(parents=True)
    (output / "story-two" / "notes.txt").write_text("mine\n", encoding="utf-8")
    process = subprocess.run(command("render", *scripts, broken, "-o", output, "--cache",
                                     tmp_path / "cache", "--engine", "fake", *FORMATS,
                                     "-j", "2"), capture_output=True, text=True, timeout=600)
    assert process.returncode == 1
    errors = process.stderr.splitlines()
    assert any(line.startswith(f"audioguide: error: {broken}:") for line in errors)
    assert any(line.startswith(f"audioguide: error: {output / 'story-two'}:")
               for line in errors)
    assert errors[-1] == ("audioguide: error: 2 of 5 scripts failed (each named above); the "
                          "other editions are published")
    assert sorted(rendered_lines(process.stdout)) == ["story-four", "story-one", "story-three"]
    assert (output / "story-two" / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert "library of 3 editions" in process.stdout


@pytest.mark.parametrize("value", ["0/3", "4/3", "1/0", "two/3", "1-3"])
def test_a_bad_shard_is_one_usage_line(tmp_path: Path, value: str) -> None:
    """--shard takes I/N with 1 <= I <= N; anything else is one line and exit 2."""
    scripts = write_archive(tmp_path / "script", 1)
    code, _, stderr = cli("render", *scripts, "--engine", "fake", "--shard", value,
                          "-o", tmp_path / "audio", "--cache", tmp_path / "cache")
    assert code == 2
    assert stderr == (f"audioguide: error: --shard takes I/N, part I of N with 1 <= I <= N, "
                      f"such as 2/3 (got {value!r})\n")
    assert not (tmp_path / "audio").exists()


def test_shards_split_the_scripts_without_overlap(tmp_path: Path) -> None:
    """For any N, the N shards ($AUDIOGUIDE_SHARD or --shard) hold every script once."""
    scripts = write_archive(tmp_path / "script")
    for count in (1, 2, 3, 5):
        held: list[str] = []
        for index in range(1, count + 1):
            result = CliRunner(env={"AUDIOGUIDE_SHARD": f"{index}/{count}"}).invoke(
                main, ["plan", *map(str, scripts), "--engine", "fake", "-o",
                       str(tmp_path / "audio"), "--cache", str(tmp_path / "cache")])
            assert result.exit_code == 0, result.stderr
            held += re.findall(r"^(\S+\.md):", result.stdout, re.M)
        assert sorted(held) == sorted(map(str, scripts)), count
    assert parse_shard(" 2 / 3 ").index == 2
    with pytest.raises(UsageError):
        parse_shard("3/2")


def test_a_second_writer_of_a_clip_is_harmless(tmp_path: Path) -> None:
    """Two writers finishing the same clip leave one whole entry and no stray file."""
    from audioguide.engines.fake import FakeEngine
    from audioguide.model import Voice

    store = ClipCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    voice = Voice(engine="fake", voice="en-us", rate=175, volume=1.0)
    staged = [store.staging(key), store.staging(key)]
    for path in staged:
        FakeEngine().synthesize("The same sentence, twice.", voice, path)
    first = store.commit(key, staged[0])
    second = store.commit(key, staged[1])
    staged[1].unlink(missing_ok=True)  # a writer drops its own file (narrate does)
    assert first == second
    names = sorted(p.name for p in store.path(key).parent.iterdir())
    assert len(names) == 2 and names[1] == f"{key}.wav", names  # the clip and its word times
    assert_cache_whole(tmp_path / "cache")


def test_two_writers_racing_on_a_clip_leave_it_with_its_own_word_times(tmp_path: Path) -> None:
    """When a second writer of a clip looked before the first had finished, whichever WAV
    is renamed into place last is read with its own word times, never the other's."""
    from audioguide.engines.fake import FakeEngine
    from audioguide.model import Voice

    class Racing(ClipCache):
        looked = False

        def get(self, key: str):  # the look before writing found nothing yet
            if not self.looked:
                self.looked = True
                return None
            return super().get(key)

    root = tmp_path / "cache"
    key = "cd" + "0" * 62
    voice = Voice(engine="fake", voice="en-us", rate=175, volume=1.0)
    first, second = ClipCache(root), Racing(root)
    staged = [first.staging(key), second.staging(key)]
    said = [FakeEngine().synthesize(text, voice, path)
            for text, path in zip(("One two.", "One two three four."), staged, strict=True)]
    first.commit(key, staged[0], said[0])
    won = second.commit(key, staged[1], said[1])
    clip = ClipCache(root).get(key)
    assert clip is not None and clip == won
    assert [w.text for w in clip.words] == ["One", "two", "three", "four."]
    assert_cache_whole(root)


WRITER = textwrap.dedent("""\
    import sys, time, wave
    from pathlib import Path
    from audioguide.narrate import ClipCache
    store = ClipCache(Path(sys.argv[1]))
    staged = store.staging(sys.argv[2])
    with wave.open(str(staged), "wb") as out:
        out.setnchannels(1); out.setsampwidth(2); out.setframerate(22050)
        out.writeframes(b"\\1\\0" * 22050)
    with staged.open("r+b") as out:  # the header now claims more than is written
        out.truncate(30000)
    print("writing", flush=True)
    time.sleep(60)
    store.commit(sys.argv[2], staged)
    """)


def test_a_killed_writer_leaves_no_entry_to_read(tmp_path: Path) -> None:
    """A writer killed while writing a clip leaves no entry, only an unfinished file that
    `audioguide cache` counts and `prune` removes once stale."""
    key = "cd" + "1" * 62
    writer = subprocess.Popen([sys.executable, "-c", WRITER, tmp_path / "cache", key],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    store = ClipCache(tmp_path / "cache")
    assert store.get(key) is None
    found, leftovers = cache_module.entries(tmp_path / "cache")
    assert found == [] and len(leftovers) == 1
    code, stdout, _ = cli("cache", "--cache", tmp_path / "cache")
    assert code == 0
    assert stdout.endswith("in 0 clips and 0 encoded segments; 1 unfinished file of a stopped "
                           "render (prune removes it after an hour)\n")
    old = time.time() - 2 * cache_module.STALE_S
    os.utime(leftovers[0], (old, old))
    code, stdout, _ = cli("cache", "--cache", tmp_path / "cache", "prune", "--older-than", "1")
    assert code == 0 and not leftovers[0].exists()


def plan(base: Path, *extra: str) -> tuple[str, str]:
    code, stdout, stderr = cli("plan", *sorted((base / "script").glob("*.md")), "-o",
                               base / "audio", "--cache", base / "cache", "--engine", "fake",
                               *FORMATS, *extra)
    assert code == 0, stderr
    return stdout, stderr


def test_plan_of_an_archive_before_after_an_edit_and_for_a_voice(tmp_path: Path) -> None:
    """`plan`, writing nothing, finds a new archive all to do (no estimate yet), then
    fresh, then one sentence and segment to redo after an edit (as the render bears out),
    and everything stale for another voice."""
    base = tmp_path
    write_archive(base / "script", 3, chapters=2)
    stdout, stderr = plan(base)
    lines = stdout.splitlines()
    assert len(lines) == 4
    assert all(": stale (no edition yet): " in line for line in lines[:3])
    assert all(re.search(r": (\d+) of \1 sentences to synthesize, (\d+) of \2 segments", line)
               for line in lines[:3])
    assert lines[3].startswith("total: 3 editions, 3 stale; ")
    assert lines[3].endswith("; no estimate yet")
    assert "no render with the fake engine has been timed on this machine" in stderr
    assert not (base / "audio").exists() and not (base / "cache").exists()

    scripts = sorted((base / "script").glob("*.md"))
    code, _, stderr = cli(*render_args(base / "script", base / "audio", base / "cache"),
                          "-j", "2")
    assert code == 0, stderr
    assert list((base / "cache" / "rates").glob("*.json"))
    stdout, _ = plan(base)
    assert stdout.splitlines()[:3] == [f"{path}: fresh (nothing to do)" for path in scripts]
    assert stdout.splitlines()[3] == ("total: 3 editions, 0 stale; 0 sentences to synthesize, "
                                      "0 segments to encode; about 0.0 s of CPU on this machine")

    edited = scripts[1]
    edited.write_text(edited.read_text(encoding="utf-8").replace(
        "Written for the archive tests.", "Written for the archive tests, edited."),
        encoding="utf-8")
    before_cache, before_output = tree_digests(base / "cache"), tree_digests(base / "audio")
    stdout, _ = plan(base)
    assert tree_digests(base / "cache") == before_cache
    assert tree_digests(base / "audio") == before_output
    line = stdout.splitlines()[1]
    assert line.startswith(f"{edited}: stale (the script's text changed (1 sentence edited)): "
                           "1 of ")
    segments = re.search(r"sentences to synthesize, (\d+) of (\d+) segments", line)
    assert 1 <= int(segments.group(1)) < int(segments.group(2))
    assert re.search(r"; about \d+\.\d s of CPU$", line)
    encodes = cache_module.usage(base / "cache").segments
    code, stdout, stderr = cli("render", edited, "-o", base / "audio", "--cache", base / "cache",
                               "--engine", "fake", *FORMATS)
    assert code == 0, stderr
    assert "; 1 of " in stdout.splitlines()[0]  # one sentence synthesized
    assert cache_module.usage(base / "cache").segments - encodes == int(segments.group(1))

    before_cache, before_output = tree_digests(base / "cache"), tree_digests(base / "audio")
    stdout, _ = plan(base, "--voice", "en-gb")
    lines = stdout.splitlines()
    assert all(re.search(r": stale \(voice en-us -> en-gb\): (\d+) of \1 sentences", line)
               for line in lines[:3]), lines
    assert re.match(r"total: 3 editions, 3 stale; \d+ sentences to synthesize, \d+ segments "
                    r"to encode; about \d+\.\d s of CPU on this machine", lines[3])
    assert tree_digests(base / "cache") == before_cache
    assert tree_digests(base / "audio") == before_output
