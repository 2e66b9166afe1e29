"""Tests for the command line: exit codes, one-line errors, the summary and progress output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from audioguide.cli import main
from audioguide.render import all_formats
from readback import tree_digests

TESTS = Path(__file__).resolve().parent
BAD = TESTS / "corpus" / "bad"
SUMMARY_LINE = re.compile(r"^\s+(?:(\d+):(\d\d):(\d\d)\s+)?([\d.]+) (B|KB|MB|GB)  (\S.*)$")
PROGRESS_LINE = re.compile(r"^[a-z][a-z0-9 ]* \d+/\d+$")
UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_error_line(text: str, after_progress: bool = False) -> str:
    """The single error line of stderr; fails on tracebacks and on any other line.

    With `after_progress`, plain progress lines may come before the error.
    """
    assert "Traceback" not in text
    lines = text.splitlines()
    if after_progress:
        lines = [line for line in lines if not PROGRESS_LINE.match(line)]
    assert len(lines) == 1, text
    assert lines[0].startswith("audioguide: error: ")
    assert text.endswith(lines[0] + "\n")
    return lines[0]


@pytest.fixture
def small(small_edition: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The small script, a copy of its cache and of its edition in a writable place."""
    base = small_edition.parent.parent
    script = tmp_path / "small.md"
    shutil.copy2(base / "small.md", script)
    cache = tmp_path / "cache"
    shutil.copytree(base / "cache", cache)
    output = tmp_path / "audio"
    shutil.copytree(small_edition, output / "small")
    return script, cache, output


def _commands(group: click.Group) -> list[tuple[str, click.Command]]:
    return sorted(group.commands.items())


def test_every_command_has_help() -> None:
    """The group and every command answer --help with exit 0 and carry a docstring."""
    result = run("--help")
    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert main.help and main.help.strip()
    assert _commands(main)
    for name, command in _commands(main):
        assert command.help and command.help.strip(), name
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert command.help.split("\n")[0].strip() in result.stdout
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"


@pytest.mark.parametrize("name", ["unknown-key.md", "h3-heading.md", "nul-byte.md"])
def test_bad_script_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    """A bad script exits 2 with one `audioguide: error: <path>:<line>:` line and no traceback."""
    path = BAD / name
    result = run("render", "--engine", "fake", "-o", tmp_path / "out", "--cache",
                 tmp_path / "cache", path)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert re.match(rf"audioguide: error: {re.escape(str(path))}:\d+: \S", line), line
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_missing_script_exits_2(tmp_path: Path) -> None:
    """A script path that does not exist exits 2 with one line naming it."""
    path = tmp_path / "missing.md"
    result = run("render", "--engine", "fake", "-o", tmp_path / "out", path)
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        f"audioguide: error: {path}: no such script; check the path")


def test_unknown_format_exits_2_listing_formats(small: tuple[Path, Path, Path]) -> None:
    """`--format nonsense` exits 2 with one line that lists every format."""
    script, cache, output = small
    result = run("render", "-f", "nonsense", "--engine", "fake", "-o", output, "--cache", cache,
                 script)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "'nonsense'" in line
    for name in all_formats():
        assert name in line


def test_check_is_fresh_then_stale(small: tuple[Path, Path, Path]) -> None:
    """`render --check` exits 0 on a fresh edition, and 1 with one error line once it changes."""
    script, cache, output = small
    args = ("render", "--check", "--engine", "fake", "-o", output, "--cache", cache, script)
    fresh = run(*args)
    assert fresh.exit_code == 0, fresh.stderr
    assert fresh.stdout == f"{script}: fresh\n"
    assert fresh.stderr == ""

    script.write_text(script.read_text(encoding="utf-8").replace(
        "This is the second one.", "This is another one."), encoding="utf-8")
    stale = run(*args)
    assert stale.exit_code == 1
    line = one_error_line(stale.stderr)
    assert line.startswith(f"audioguide: error: {script}: the published edition is stale")
    assert "audioguide render" in line
    assert f"{script}: stale: " in stale.stdout


def test_check_notices_an_edited_file(small: tuple[Path, Path, Path]) -> None:
    """`render --check` exits 1 when a published file was changed after rendering."""
    script, cache, output = small
    (output / "small" / "cover.png").write_bytes(b"not a cover")
    result = run("render", "--check", "--engine", "fake", "-o", output, "--cache", cache,
                 script)
    assert result.exit_code == 1
    one_error_line(result.stderr)
    assert "cover.png" in result.stdout


def test_single_format_writes_only_it(small_edition: Path, tmp_path: Path) -> None:
    """`-f mp3` writes the MP3, the cover and the manifest, and nothing else."""
    script = small_edition.parent.parent / "small.md"
    output = tmp_path / "out"
    result = run("render", "-o", output, "-f", "mp3", "--engine", "fake", "--cache",
                 tmp_path / "cache", "-q", script)
    assert result.exit_code == 0, result.stderr
    assert sorted(tree_digests(output / "small")) == ["cover.png", "manifest.json", "small.mp3"]
    assert [p.name for p in output.iterdir() if "staging" in p.name] == []


def _summary(stdout: str) -> dict[str, tuple[int | None, float, float]]:
    """name -> (duration in s or None, size and its rounding in bytes) from the summary."""
    files = {}
    for line in stdout.splitlines()[1:]:
        if not line.startswith("  "):
            continue  # a note after the file list
        match = SUMMARY_LINE.match(line)
        assert match, line
        h, m, s, size, unit, name = match.groups()
        duration = int(h) * 3600 + int(m) * 60 + int(s) if h is not None else None
        # Shown to one decimal (whole bytes below 1 KB): half the last digit either way.
        files[name] = (duration, float(size) * UNITS[unit], 0.5 if unit == "B" else
                       0.05 * UNITS[unit])
    return files


def test_summary_lists_every_file_with_duration_and_size(small_edition: Path,
                                                          tmp_path: Path) -> None:
    """The closing summary names every published file with its true size, and audio its
    length, then the library files written beside the edition."""
    script = small_edition.parent.parent / "small.md"
    output = tmp_path / "out"
    result = run("render", "-o", output, "--engine", "fake", "--cache", tmp_path / "cache",
                 "-q", "--base-url", "https://example.com/audio/", script)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    folder = output / "small"
    *edition, library = result.stdout.splitlines()
    assert edition[0].startswith(f"{folder}: rendered in ")
    assert re.search(r"loudness -?\d+\.\d LUFS", edition[0])
    assert library == (f"{output}: library of 1 edition (cover.png, index.html, library.css, "
                       "catalog.xml, feed.xml)")
    listed = _summary("\n".join(edition))
    assert set(listed) == set(tree_digests(folder))
    for name, (duration, size, rounding) in listed.items():
        assert abs(size - (folder / name).stat().st_size) <= rounding, name
        if name.endswith((".mp3", ".m4b")):
            assert duration is not None, name
            probed = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                 "csv=p=0", str(folder / name)], capture_output=True, text=True, check=True)
            assert abs(duration - float(probed.stdout)) <= 1, name


def test_progress_is_sparse_when_not_a_terminal(tmp_path: Path) -> None:
    """Without a terminal, progress is a few lines per stage, never one per sentence."""
    sentences = " ".join(f"Sentence number {n} is here." for n in range(40))
    script = tmp_path / "many.md"
    script.write_text(textwrap.dedent("""\
        ---
        title: "Many sentences"
        author: "Test Author"
        source: "Test Publication"
        language: en-US
        narrator: "Synthetic voice: test engine"
        ---

        ## One

        {0}

        ## Two

        {0}
        """).format(sentences), encoding="utf-8")
    result = run("render", "-o", tmp_path / "out", "-f", "mp3", "--engine", "fake", "--cache",
                 tmp_path / "cache", script)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and "\r" not in result.stderr
    stages: dict[str, int] = {}
    for line in lines:
        stage = re.sub(r" \d+/\d+$", "", line)
        stages[stage] = stages.get(stage, 0) + 1
    assert "narrate" in stages
    assert max(stages.values()) <= 5, stages
    assert len(lines) < 80 // 4


def test_voices_lists_the_fake_voice() -> None:
    """`voices --engine fake` lists the fake engine's voice."""
    result = run("voices", "--engine", "fake")
    assert result.exit_code == 0
    assert result.stdout.startswith("fake\ten\t")


def test_unknown_engine_exits_2(small: tuple[Path, Path, Path]) -> None:
    """An unknown engine name exits 2 with one line listing the engines."""
    script, cache, output = small
    result = run("render", "--engine", "nope", "-o", output, "--cache", cache, "--force",
                 script)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "'nope'" in line and "fake" in line and "pyttsx3" in line


# ---------------------------------------------------------------------------
# The installed command, as a user runs it
# ---------------------------------------------------------------------------


def cli(*args: str | Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m audioguide.cli`, optionally with another PATH."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "audioguide.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_subprocess_render_and_errors(small_edition: Path, tmp_path: Path) -> None:
    """The real command renders (exit 0), re-renders as a no-op, and reports a bad script (2)."""
    script = small_edition.parent.parent / "small.md"
    args = ("render", "--engine", "fake", "-o", tmp_path / "out", "--cache", tmp_path / "cache")
    done = cli(*args, script)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert tree_digests(tmp_path / "out" / "small") == tree_digests(small_edition)
    again = cli(*args, script)
    assert again.returncode == 0 and "up to date" in again.stdout
    bad = cli(*args, BAD / "duplicate-titles.md")
    assert bad.returncode == 2
    assert one_error_line(bad.stderr).startswith(
        f"audioguide: error: {BAD / 'duplicate-titles.md'}:17: ")


def test_missing_espeak_names_the_install_command(small_edition: Path, tmp_path: Path) -> None:
    """Without espeak-ng on PATH the real engine fails with exit 1 and how to install it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("ffmpeg", "ffprobe"):
        found = shutil.which(program)
        assert found, f"{program} is needed by the tests; run ./dev.sh test"
        (bin_dir / program).symlink_to(found)
    script = small_edition.parent.parent / "small.md"
    result = cli("render", "-o", tmp_path / "out", "--cache", tmp_path / "cache", script,
                 path=str(bin_dir))
    assert result.returncode == 1
    line = one_error_line(result.stderr, after_progress=True)
    assert "espeak-ng" in line and "apt-get install espeak-ng" in line
    assert not any((tmp_path / "out").glob("small*"))
    assert not list((tmp_path / "out").glob(".small.staging-*"))


def test_missing_ffmpeg_leaves_the_edition_intact(small: tuple[Path, Path, Path],
                                                  tmp_path: Path) -> None:
    """Without ffmpeg a forced render fails with exit 1 naming ffmpeg; the edition is intact."""
    script, cache, output = small
    before = tree_digests(output / "small")
    empty = tmp_path / "bin"
    empty.mkdir()
    result = cli("render", "--force", "--engine", "fake", "-o", output, "--cache", cache,
                 script, path=str(empty))
    assert result.returncode == 1
    # Checked before narration, which with the real engine can take minutes.
    line = one_error_line(result.stderr)
    assert "ffmpeg is not installed" in line and "apt-get install ffmpeg" in line
    assert tree_digests(output / "small") == before
    assert not list(output.glob(".small.staging-*"))
