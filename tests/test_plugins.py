"""Engines and outputs found as plug-ins: a package registers them through the
`audioguide.engines` and `audioguide.outputs` entry point groups, and the CLI, the
spawned workers and the page use them by name. The package is the README's example."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide import engines, publish, server
from audioguide.cli import main
from conftest import ROOT, SMALL_SCRIPT, manifest
from test_page import outline

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_block(first_line: str) -> str:
    """The README's code block that starts with `first_line`."""
    found = re.search(r"```\w+\n(" + re.escape(first_line) + r"\n.*?)```", README, re.S)
    assert found, f"the README has no block starting {first_line!r}"
    return found.group(1)


def keep_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engines a test's plug-in registers are forgotten when the test ends."""
    engines.names()  # the built-in engines registered first, so that the copy keeps them
    monkeypatch.setattr(engines, "_REGISTRY", dict(engines._REGISTRY))


def install(site: Path, name: str, entry_points: dict[str, dict[str, str]],
            monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution installed as pip would (a dist-info folder on sys.path), for one test."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in entry_points.items()), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    keep_engines(monkeypatch)
    # The output registry is read afresh from the entry points, and so are the served types.
    monkeypatch.setattr(publish, "_REGISTRY", {})
    server._media_types.cache_clear()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The README's package mytts installed: the engine 'mytts' and the output 'words'."""
    site = tmp_path / "site"
    (site / "mytts").mkdir(parents=True)
    (site / "mytts" / "__init__.py").write_text("", encoding="utf-8")
    for module in ("engine", "outputs"):
        (site / "mytts" / f"{module}.py").write_text(readme_block(f"# mytts/{module}.py"),
                                                     encoding="utf-8")
    project = tomllib.loads(readme_block("# mytts's pyproject.toml"))
    install(site, "mytts", project["project"]["entry-points"], monkeypatch)
    yield site
    server._media_types.cache_clear()


def test_an_entry_point_engine_renders_in_spawned_workers(plugin: Path, tmp_path: Path) -> None:
    """`--engine mytts` finds the plug-in by entry point, and its isolated workers find it too."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "render", str(script), "--engine", "mytts", "--format", "chapters", "--quiet",
        "--output", str(tmp_path / "audio"), "--cache", str(tmp_path / "cache"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "audio" / "small" / "manifest.json").read_text())
    assert content["engine"].startswith("mytts 1.0 voice=")
    assert content["duration_ms"] > 10_000


def test_an_entry_point_engine_is_named_in_front_matter_and_lists_voices(plugin: Path,
                                                                        tmp_path: Path) -> None:
    """Front matter `engine: mytts` is accepted, and `voices --engine mytts` lists its voice."""
    listed = CliRunner().invoke(main, ["voices", "--engine", "mytts"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == ["hum\ten\tA hum"]
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT.replace("language: en-US", "language: en-US\nengine: mytts"),
                      encoding="utf-8")
    said = CliRunner().invoke(main, ["say", "A plug-in speaks.", "--script", str(script),
                                     "--output", str(tmp_path / "said.wav"),
                                     "--cache", str(tmp_path / "cache")])
    assert said.exit_code == 0, said.output
    assert (tmp_path / "said.wav").stat().st_size > 1000


def test_an_entry_point_output_is_a_format_written_listed_and_served(plugin: Path,
                                                                    tmp_path: Path) -> None:
    """`--format words` finds the plug-in's output by entry point: written, in the manifest,
    on the page's downloads and served with its media type."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "render", str(script), "--engine", "fake", "--quiet", "--format", "mp3",
        "--format", "words", "--format", "page",
        "--output", str(tmp_path / "audio"), "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "audio" / "small"
    lines = (folder / "words.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Content note" and lines[-1] == "This is the second one."
    assert "words.txt" in manifest(folder)["files"]
    assert "words.txt" in {a["href"] for a in outline(folder).all("a")}
    assert server.content_type(folder / "words.txt") == "text/plain"


def test_a_broken_plugin_is_one_line_naming_it(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A plug-in whose module cannot be imported is refused in one line naming the entry point."""
    install(tmp_path / "site", "broken", {"audioguide.engines": {
        "broken": "no_such_module:Engine"}}, monkeypatch)
    result = CliRunner().invoke(main, ["voices", "--engine", "broken"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "audioguide: error: the engine 'broken' (no_such_module:Engine) cannot be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module'"]
