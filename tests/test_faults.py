"""Faults: killed, interrupted and concurrent renders, failing tools, a full disk.

Whatever happens to a render, the published edition is either the previous one,
byte for byte, or the complete new one; never a mixture, never half-written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import faulty_engines  # noqa: F401  (registers the misbehaving engines)
from audioguide import publish, tools
from audioguide.errors import EngineError, OutputError
from audioguide.publish import manifest as manifest_file
from audioguide.render import RenderOptions, render
from conftest import ARTICLE_SCRIPT, SMALL_SCRIPT, render_fake, replace_writer

KILL_TRIALS = 20


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below `folder` with its sha256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*args: str | Path, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-m", "audioguide.cli", *map(str, args)]


def start_render(script: Path, output: Path, cache: Path, *extra: str,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(cli("render", script, "-o", output, "--cache", cache, "--engine",
                                "fake", "-j", "2", *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


@pytest.fixture
def two_versions(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, str], dict[str, str]]:
    """A published edition of a script, the script edited, and both editions' snapshots.

    The new edition is what a render of the edit makes from that edition (a re-render
    keeps the published gain), made once in a copy.
    """
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    output, cache = tmp_path / "audio", tmp_path / "cache"
    old = render_fake(script, output, cache).folder
    before = snapshot(old)
    shutil.copytree(output, tmp_path / "reference")
    shutil.copytree(cache, tmp_path / "reference-cache")
    script.write_text(SMALL_SCRIPT.replace("This is the second one.",
                                           "This is the second one, edited."), encoding="utf-8")
    reference = render_fake(script, tmp_path / "reference", tmp_path / "reference-cache")
    return script, output, cache, before, snapshot(reference.folder)


def test_killed_renders_leave_the_previous_or_the_complete_new_edition(two_versions, tmp_path):
    """SIGKILL at random points of a render never leaves a broken or mixed edition."""
    script, output, cache, before, after = two_versions
    folder = output / "small"
    pristine = tmp_path / "pristine"
    shutil.copytree(folder, pristine)
    started = time.monotonic()  # how long an uninterrupted trial takes
    start_render(script, output, cache, "--force").communicate()
    full = time.monotonic() - started
    rng = random.Random(1234)
    outcomes = {"previous": 0, "new": 0}
    killed_mid_render = attempts = 0
    while killed_mid_render < KILL_TRIALS:
        attempts += 1
        assert attempts <= 3 * KILL_TRIALS, "renders kept finishing before the kill"
        # Every trial starts from the previous edition, however the last one ended.
        shutil.rmtree(folder)
        shutil.copytree(pristine, folder)
        process = start_render(script, output, cache, "--force")
        time.sleep(rng.uniform(0.05, full * 0.95))
        killed_mid_render += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.communicate()
        state = snapshot(folder)
        assert state in (before, after), (
            "a killed render changed the published edition: "
            f"{sorted(k for k in set(state) | set(before) if state.get(k) != before.get(k))} "
            f"differ from the previous one, "
            f"{sorted(k for k in set(state) | set(after) if state.get(k) != after.get(k))} "
            "from the new one")
        outcomes["previous" if state == before else "new"] += 1
    assert outcomes["previous"] >= KILL_TRIALS // 2, outcomes
    finished = render(script, RenderOptions(output=output, engine="fake", cache=cache,
                                            jobs=2, force=True))
    assert snapshot(finished.folder) == after
    assert finished.stats is not None and finished.stats.synthesized == 0
    assert not list(output.glob(".small.staging-*"))


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in line and "pytest" not in line:
                found.append(line)
    return found


def _descendants(pid: int) -> set[int]:
    """The processes below `pid` now (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie has stopped: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"{pid} (gone)"


@pytest.mark.parametrize(("stop", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("delay", [0.4, 1.5, 3.0])
def test_a_stopped_render_exits_cleanly_and_keeps_the_edition(two_versions, tmp_path, delay,
                                                               stop, code, said):
    """SIGINT (130) or SIGTERM (143) during a cold render: one line, no traceback, the edition
    untouched, no staging folder and no encoder or worker left running."""
    script, output, _, before, _ = two_versions
    long_script = tmp_path / "small.md"
    long_script.write_text(ARTICLE_SCRIPT.read_text(encoding="utf-8").replace(
        "content_note:", "slug: small\ncontent_note:", 1), encoding="utf-8")
    process = start_render(long_script, output, tmp_path / "cold-cache", "--force")
    time.sleep(delay)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.fail("the render finished before it could be interrupted")
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"audioguide: {said}; the published edition is unchanged")
    assert snapshot(output / "small") == before
    assert not list(output.glob(".small.staging-*"))
    time.sleep(0.5)
    assert _processes_mentioning(str(tmp_path)) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_killed_render_takes_its_encoders_and_workers_with_it(two_versions, tmp_path):
    """SIGKILL cannot be caught: the kernel stops the render's ffmpeg runs and synthesis
    workers, so none goes on writing into the staging folder the next render removes."""
    script, output, cache, before, _ = two_versions
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow = bin_dir / "ffmpeg"  # an encode (into staging) that hangs until it is stopped
    slow.write_text(f'#!/bin/sh\ncase "$*" in *staging*) exec sleep 60;; esac\n'
                    f'exec {shutil.which("ffmpeg")} "$@"\n')
    slow.chmod(0o755)
    process = start_render(script, output, cache, "--force",
                           env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    deadline = time.monotonic() + 60
    encoding: set[int] = set()
    while not encoding and time.monotonic() < deadline and process.poll() is None:
        encoding = {pid for pid in _descendants(process.pid)
                    if _command_line(pid).startswith("sleep")}
        time.sleep(0.05)
    assert encoding, "the render never started an encode"
    children = _descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while (alive := {pid for pid in children if _alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, [_command_line(pid) for pid in alive]
    assert snapshot(output / "small") == before


PARENT_DEATH_SIGNAL = """
import ctypes
signal = ctypes.c_int()
ctypes.CDLL(None).prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
print(signal.value)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_external_programs_die_with_the_render_without_a_forked_copy_of_it():
    """Each external program is asked to die with the render (SIGKILL on the parent's
    death) by setpriv, so Python starts it with vfork: no preexec_fn, whose fork() holds
    a copy of the render's memory until the program starts."""
    command, options = tools.child([sys.executable, "-c", PARENT_DEATH_SIGNAL])
    assert "preexec_fn" not in options
    assert os.path.basename(command[0]) == "setpriv"
    done = subprocess.run(command, capture_output=True, text=True, check=True, **options)
    assert int(done.stdout) == signal.SIGKILL


def test_concurrent_renders_into_one_output_wait_for_each_other(tmp_path):
    """Two renders of one edition at once: one waits, both succeed, the edition is valid."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    output, cache = tmp_path / "audio", tmp_path / "cache"
    first = start_render(script, output, cache, "--force")
    second = start_render(script, output, cache, "--force")
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    assert any("waiting for another render" in stderr for _, stderr in results)
    data = manifest_file.read_manifest(output / "small")
    assert data is not None
    assert manifest_file.problems(output / "small", data["input_key"]) == []


def test_a_failing_ffmpeg_is_reported_with_its_command_and_leaves_nothing(tmp_path,
                                                                          two_versions):
    """An ffmpeg that fails is named with its stderr; the previous edition stays whole."""
    script, output, cache, before, _ = two_versions
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Conversion failed: simulated' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    process = start_render(script, output, tmp_path / "empty-cache", "--force", env=env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr
    assert lines[-1].startswith("audioguide: error: could not encode chapter")
    assert "ffmpeg" in lines[-1] and "Conversion failed: simulated" in lines[-1]
    assert snapshot(output / "small") == before
    assert not list(output.glob(".small.staging-*"))


@pytest.mark.parametrize("where", ["a-file", "/sys/audioguide-test"])
def test_an_unwritable_output_is_one_line_naming_it(tmp_path, where):
    """An output that cannot be created is a one-line error naming it, exit 1."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    output = tmp_path / where if where == "a-file" else Path(where)
    if where == "a-file":
        output.write_text("not a folder")
    process = subprocess.run(cli("render", script, "-o", output, "--engine", "fake",
                                 "--cache", tmp_path / "cache"), capture_output=True, text=True)
    assert process.returncode == 1
    assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr
    assert process.stderr.startswith(f"audioguide: error: {output}: cannot create the output")


def test_a_full_disk_is_reported_and_the_edition_kept(two_versions, monkeypatch):
    """ENOSPC while writing an output becomes 'the disk is full'; the edition is untouched."""
    script, output, cache, before, _ = two_versions
    def full(edition: publish.Edition) -> list[Path]:
        raise OSError(errno.ENOSPC, "No space left on device", str(edition.folder / "x.m4b"))

    replace_writer(monkeypatch, "m4b", full)
    with pytest.raises(OutputError, match="the disk is full"):
        render(script, RenderOptions(output=output, engine="fake", cache=cache, force=True))
    assert snapshot(output / "small") == before
    assert not list(output.glob(".small.staging-*"))


def test_an_engine_that_returns_silence_is_an_error_naming_the_sentence(tmp_path):
    """An engine writing empty audio fails after a retry, naming the script line."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    with pytest.raises(EngineError) as caught:
        render(script, RenderOptions(output=tmp_path / "audio", engine="silent",
                                     cache=tmp_path / "cache", jobs=1))
    message = caught.value.format()
    assert message.startswith(f"{script}:")
    assert "could not synthesize 'Content note': the engine wrote no usable audio" in message
    assert not (tmp_path / "audio" / "small").exists()


def test_a_damaged_chapter_encode_in_the_cache_is_made_again(tmp_path):
    """A truncated encoded segment in the cache is detected and encoded again."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    cache = tmp_path / "cache"
    first = render_fake(script, tmp_path / "a", cache)
    encodes = sorted((cache / "segments").rglob("*.mp3"), key=lambda p: p.stat().st_size)
    assert encodes
    damaged = encodes[-1]  # a segment of speech, not a pad of room tone
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    second = render_fake(script, tmp_path / "b", cache)
    assert second.encoded_chapters == 1
    assert snapshot(second.folder) == snapshot(first.folder)
