"""Reliability: caches on other file systems, full volumes, user files and colliding slugs.

Whatever the layout of folders and whatever fails, nothing a user had is lost and a
failure is one line naming the file and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import faulty_engines  # noqa: F401  (registers the misbehaving engines)
from audioguide import fsutil, narrate
from audioguide.cli import main
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
    return result.exit_code, result.stderr if result.stderr_bytes else result.output


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

    monkeypatch.setattr("audioguide.master.move_into", full)
    code, err = cli("render", script, "-o", tmp_path / "audio", "--engine", "fake", "-q",
                    "--cache", tmp_path / "cache")
    assert code == 1
    assert err.startswith(f"audioguide: error: {tmp_path / 'cache' / 'chapters'}: no space "
                          "left on the cache volume")
    assert not (tmp_path / "audio" / "small").exists()
