"""Shared fixtures: rendered editions made once per test session with the fake engine."""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide import publish
from audioguide.cli import main
from audioguide.render import RenderOptions, render

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_SCRIPT = ROOT / "script" / "crying-during-sex.md"

SMALL_SCRIPT = textwrap.dedent("""\
    ---
    title: "A Small Test Edition"
    author: "Test Author"
    source:
      name: "Test Publication"
      url: "https://example.com/article"
    language: en-US
    narrator: "Synthetic voice: test engine"
    description: "A short script for tests."
    content_note: "Content note"
    pauses:
      sentence: 200ms
      paragraph: 500ms
      chapter: 1s
    lexicon:
      LMFT: "L M F T"
    ---

    ## Content note

    This is a short content note. Skip to chapter two to begin.

    ## The first part

    Dr. Smith wrote this in 1987. It cost $5.99, i.e. not much.

    > A quoted paragraph, with *emphasis* and a [link](https://example.com).

    <!-- pause 2s -->

    - A list item.
    - Another item.

    ## The second part

    The last chapter has two sentences. This is the second one.
    """)


def render_fake(script: Path, output: Path, cache: Path, **options: object):
    """Render `script` with the fake engine into `output`."""
    return render(script, RenderOptions(output=output, engine="fake", cache=cache, jobs=2,
                                        **options))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def article_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The article's full edition (every format), rendered once with the fake engine."""
    base = tmp_path_factory.mktemp("article")
    result = render_fake(ARTICLE_SCRIPT, base / "audio", base / "cache")
    return result.folder


@pytest.fixture(scope="session")
def small_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small script's full edition, rendered once with the fake engine."""
    base = tmp_path_factory.mktemp("small")
    script = base / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = render_fake(script, base / "audio", base / "cache")
    return result.folder


@pytest.fixture
def copy_edition(tmp_path: Path):
    """Copy a rendered edition somewhere a test may change it."""
    def copy(folder: Path) -> Path:
        target = tmp_path / folder.name
        shutil.copytree(folder, target)
        return target
    return copy


def cli_render_only(tmp_path: Path, fmt: str) -> tuple[Result, Path]:
    """Render the small script through the CLI with only `fmt`: (click result, edition)."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "render", str(script), "--format", fmt, "--engine", "fake", "--quiet",
        "--output", str(tmp_path / "audio"), "--cache", str(tmp_path / "cache"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    return result, tmp_path / "audio" / "small"


def replace_writer(monkeypatch: pytest.MonkeyPatch, name: str, writer: object) -> None:
    """For one test, write the output `name` with `writer` instead of its own."""
    registry = publish.outputs()
    monkeypatch.setitem(registry, name, dataclasses.replace(registry[name], writer=writer))


def manifest(folder: Path) -> dict:
    """The manifest of a rendered edition."""
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
