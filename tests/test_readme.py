"""The README stays true: its example script renders, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from audioguide.cli import main
from conftest import ROOT, render_fake

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_example_script_in_the_readme_renders(tmp_path: Path) -> None:
    """The complete example under 'The narration script' parses and renders."""
    example = re.search(r"```markdown\n(---\n.*?)```", README, re.S)
    assert example, "the README has no example script"
    script = tmp_path / "why-we-nap.md"
    script.write_text(example.group(1), encoding="utf-8")
    result = render_fake(script, tmp_path / "audio", tmp_path / "cache")
    assert [c["title"] for c in _chapters(result.folder)] == [
        "Content note", "Why we nap", "Credits"]


def test_every_command_and_option_in_the_readme_exists() -> None:
    """Each command the README lists has help, and each render option it lists exists."""
    block = re.search(r"```text\n(audioguide render.*?)```", README, re.S)
    assert block, "the README has no command reference"
    lines = block.group(1).splitlines()
    commands = [line.split()[1] for line in lines if line.startswith("audioguide ")]
    assert commands == ["render", "publish", "voices", "serve"]
    for command in commands:
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0
    render_help = CliRunner().invoke(main, ["render", "--help"]).output
    render_lines = lines[1:next(i for i, line in enumerate(lines) if line.startswith(
        "audioguide publish"))]
    options = {o for line in render_lines for o in re.findall(r"--[a-z][a-z-]+", line)}
    assert options >= {"--output", "--format", "--jobs", "--force", "--check", "--cache"}
    for option in options:
        assert option in render_help, option


def _chapters(folder: Path) -> list[dict[str, object]]:
    import json

    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    chapters: list[dict[str, object]] = data["chapters"]
    return chapters
