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
    """Each command the README lists has help, and each option it lists exists."""
    block = re.search(r"```text\n(audioguide render.*?)```", README, re.S)
    assert block, "the README has no command reference"
    lines = block.group(1).splitlines()
    commands = [line.split()[1] for line in lines if line.startswith("audioguide ")]
    assert commands == ["render", "publish", "init", "check", "say", "voices", "serve", "cache"]
    starts = [i for i, line in enumerate(lines) if line.startswith("audioguide ")]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        command = lines[start].split()[1]
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        helps = result.output
        if command == "cache":  # its lines also list the options of `cache prune`
            helps += CliRunner().invoke(main, ["cache", "prune", "--help"]).output
        options = {o for line in lines[start:end] for o in re.findall(r"--[a-z][a-z-]+", line)}
        for option in options:
            assert option in helps, (command, option)
    render_options = {o for line in lines[:starts[1]] for o in re.findall(r"--[a-z-]+", line)}
    assert render_options >= {"--output", "--format", "--jobs", "--force", "--check", "--cache"}


def _chapters(folder: Path) -> list[dict[str, object]]:
    import json

    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    chapters: list[dict[str, object]] = data["chapters"]
    return chapters


def test_the_pls_example_in_the_readme_is_read(tmp_path: Path) -> None:
    """The README's PLS lexicon reads as an alias, an x-espeak phoneme and an IPA phoneme."""
    from audioguide import pls

    example = re.search(r"```xml\n(.*?)```", README, re.S)
    assert example, "the README has no PLS example"
    path = tmp_path / "names.pls"
    path.write_text(example.group(1), encoding="utf-8")
    assert [(e.written, e.spoken) for e in pls.read(path)] == [
        ("Shadeen", "Shuh-deen"), ("tristesse", "[[tri:st'Es]]"), ("Nguyen", "[['wIn]]")]
