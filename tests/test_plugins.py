"""Engines found as plug-ins: a package registers one through the `audioguide.engines`
entry point group, and the CLI and the spawned workers use it by name."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from conftest import SMALL_SCRIPT

PLUGIN_MODULE = textwrap.dedent('''\
    """A third-party engine: the fake engine's tones, run in spawned workers."""
    from audioguide.engines.fake import FakeEngine
    from audioguide.engines import VoiceInfo


    class ToneEngine(FakeEngine):
        isolated = True

        def identity(self, voice):
            return "tone plug-in 1 " + super().identity(voice)

        def voices(self):
            return [VoiceInfo("tone", "Plug-in tones", ("en",))]
    ''')


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution (a dist-info folder on sys.path) offering the engine 'tone'."""
    site = tmp_path / "site"
    info = site / "audioguide_tone-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "audioguide_tone.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: audioguide-tone\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[audioguide.engines]\ntone = audioguide_tone:ToneEngine\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_an_entry_point_engine_renders_in_spawned_workers(plugin: Path, tmp_path: Path) -> None:
    """`--engine tone` finds the plug-in by entry point, and its isolated workers find it too."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "render", str(script), "--engine", "tone", "--format", "chapters", "--quiet",
        "--output", str(tmp_path / "audio"), "--cache", str(tmp_path / "cache"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "audio" / "small" / "manifest.json").read_text())
    assert "tone plug-in 1" in json.dumps(content)


def test_an_entry_point_engine_is_named_in_front_matter_and_lists_voices(plugin: Path,
                                                                        tmp_path: Path) -> None:
    """Front matter `engine: tone` is accepted, and `voices --engine tone` lists its voice."""
    listed = CliRunner().invoke(main, ["voices", "--engine", "tone"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == ["tone\ten\tPlug-in tones"]
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT.replace("language: en-US", "language: en-US\nengine: tone"),
                      encoding="utf-8")
    said = CliRunner().invoke(main, ["say", "A plug-in speaks.", "--script", str(script),
                                     "--output", str(tmp_path / "said.wav"),
                                     "--cache", str(tmp_path / "cache")])
    assert said.exit_code == 0, said.output
    assert (tmp_path / "said.wav").stat().st_size > 1000


def test_a_broken_plugin_is_one_line_naming_it(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A plug-in whose module cannot be imported is refused in one line naming the entry point."""
    site = tmp_path / "site"
    info = site / "broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[audioguide.engines]\nbroken = no_such_module:Engine\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    result = CliRunner().invoke(main, ["voices", "--engine", "broken"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "audioguide: error: the engine 'broken' (no_such_module:Engine) cannot be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module'"]
