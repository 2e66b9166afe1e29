"""Incremental renders: nothing to do means nothing done; an edit redoes one clip and one chapter.

The whole-book files of an edited edition are joined from the chapters' encodes,
so their chapter tables must still match what a cold render of the edited script
gives, and every chapter must still sit where its audio is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audioguide import tools
from conftest import ARTICLE_SCRIPT, render_fake
from readback import decoded_ms, probed_chapters

EDIT = ("The first thing to note", "The very first thing to note")


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def article(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A copy of the article script, its cache and its edition (fake engine)."""
    base = tmp_path_factory.mktemp("incremental")
    script = base / "crying-during-sex.md"
    shutil.copy(ARTICLE_SCRIPT, script)
    cache, output = base / "cache", base / "audio"
    render_fake(script, output, cache)
    return script, cache, output


def test_a_render_with_nothing_to_do_runs_no_program_and_touches_no_file(article, monkeypatch):
    """A no-op render starts no encoder or engine and leaves every file's mtime alone."""
    script, cache, output = article
    folder = output / "crying-during-sex"
    before = mtimes(folder)
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def spy(command, *args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(list(map(str, command)))
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    result = render_fake(script, output, cache)
    assert result.fresh and result.stats is None
    assert started == []
    assert mtimes(folder) == before


def test_a_no_op_render_does_not_import_the_audio_code(article):
    """In a fresh process, a render with nothing to do never imports numpy or the encoders."""
    script, cache, output = article
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from audioguide.render import RenderOptions, render\n"
        f"r = render(Path({str(script)!r}), RenderOptions(output=Path({str(output)!r}), "
        f"engine='fake', cache=Path({str(cache)!r})))\n"
        "assert r.fresh\n"
        "print(sorted(m for m in ('numpy', 'pydub', 'mutagen', 'audioguide.master') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, env={**os.environ})
    assert result.stdout.strip() == "[]"


def test_an_edit_synthesizes_one_clip_and_encodes_one_chapter(article, tmp_path):
    """One changed sentence: one clip synthesized, one chapter encoded, the rest reused."""
    script, cache, output = article
    edited_output = tmp_path / "audio"
    shutil.copytree(output, edited_output)
    edited_cache = tmp_path / "cache"
    shutil.copytree(cache, edited_cache)
    edited = tmp_path / "crying-during-sex.md"
    edited.write_text(script.read_text(encoding="utf-8").replace(*EDIT, 1), encoding="utf-8")
    folder = edited_output / "crying-during-sex"
    before = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    result = render_fake(edited, edited_output, edited_cache)
    assert result.stats is not None and result.stats.synthesized == 1
    assert result.encoded_chapters == 1
    after = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    changed = [a["file"] for a, b in zip(after["chapters"], before["chapters"], strict=True)
               if after["files"][a["file"]] != before["files"][b["file"]]]
    assert changed == [
        "chapters/04-what-an-expert-has-to-say-about-emotional-release-and.mp3"]
    assert after["loudness"]["gain_db"] == before["loudness"]["gain_db"]

    cold = render_fake(edited, tmp_path / "cold", tmp_path / "cold-cache")
    cold_table = json.loads((cold.folder / "manifest.json").read_text(encoding="utf-8"))
    for rebuilt, fresh in zip(after["chapters"], cold_table["chapters"], strict=True):
        assert rebuilt["title"] == fresh["title"]
        assert abs(rebuilt["start_ms"] - fresh["start_ms"]) <= 50
        assert abs(rebuilt["end_ms"] - fresh["end_ms"]) <= 50
    for name in ("crying-during-sex.mp3", "crying-during-sex.m4b"):
        probed = probed_chapters(folder / name)
        assert [c[0] for c in probed] == [c["title"] for c in cold_table["chapters"]]
        for (_, start, end), fresh in zip(probed, cold_table["chapters"], strict=True):
            assert abs(start - fresh["start_ms"]) <= 50 and abs(end - fresh["end_ms"]) <= 50
        assert abs(decoded_ms(folder / name) - after["duration_ms"]) <= 50


def test_the_books_are_joined_not_encoded(article, monkeypatch, tmp_path):
    """With every chapter cached, a forced render runs ffmpeg only to put the M4B together."""
    script, cache, output = article
    calls: list[list[str]] = []
    real = tools.ffmpeg

    def spy(args, outputs, what):  # type: ignore[no-untyped-def]
        calls.append([str(a) for a in args])
        return real(args, outputs, what)

    monkeypatch.setattr(tools, "ffmpeg", spy)
    monkeypatch.setattr("audioguide.encode.ffmpeg", spy)
    monkeypatch.setattr("audioguide.publish.m4b.ffmpeg", spy)
    result = render_fake(script, tmp_path / "audio", cache, force=True)
    assert result.encoded_chapters == 0
    assert len(calls) == 1 and calls[0][calls[0].index("-c:a") + 1] == "copy"
