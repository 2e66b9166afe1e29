"""`audioguide check`: every hazard of a script found at its line, without synthesis."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide.cli import main
from conftest import ROOT

HAZARDS = Path(__file__).resolve().parent / "corpus" / "check" / "hazards.md"

EXPECTED = """\
{p}:9: Unused -> never said (lexicon entry never used)
{p}:14: Dr. -> Doctor (abbreviation)
{p}:14: Quibbleton -> Quibbleton (to listen to: not in espeak-ng's dictionary, read by its \
spelling rules)
{p}:14: Zyxwoq -> Zix-wok (lexicon)
{p}:14: 1987 -> nineteen eighty-seven (year)
{p}:14: $5.99 -> 5 dollars 99 cents (money)
{p}:14: St. -> Saint (abbreviation)
{p}:14: km -> km (to listen to: espeak-ng cannot say it as a word and breaks it up)
{p}:16: No. -> number (abbreviation)
{p}:16: vs. -> versus (abbreviation)
{p}:16: IV -> 4 (Roman numeral)
{p}:16: 10–20 -> 10 to 20 (number range)
{p}:16: VIII -> the eighth (Roman numeral)
{p}:16: NHS -> N H S (to listen to: an initialism, spelled letter by letter)
{p}:18: info@example.com -> info at example dot com (e-mail address)
{p}:18: https://example.org/a -> example dot org (URL)
{p}:18: 🙂 -> nothing (emoji, not spoken)
{p}:18: read -> read (heteronym: said one of two ways; listen to it)
"""


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_every_hazard_is_found_at_its_line() -> None:
    """Numbers, money, abbreviations, numerals, links, emoji, names, heteronyms, unused entries.

    A heteronym is reported once a sentence, and "It’s" (a typographic apostrophe) is a
    word espeak-ng knows.
    """
    result = run("check", HAZARDS)
    assert result.exit_code == 0
    assert result.stdout == EXPECTED.format(p=HAZARDS)
    assert result.stderr == f"{HAZARDS}: 18 findings, 5 to resolve\n"


def test_strict_exits_1_while_findings_remain(tmp_path: Path) -> None:
    """--strict fails with one line until every word is resolved in the lexicon."""
    result = run("check", "--strict", HAZARDS)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"audioguide: error: {HAZARDS}: 5 findings to resolve: listen to each, then add a "
        "lexicon entry (one that maps a word to itself marks it as checked)")
    fixed = tmp_path / "fixed.md"
    fixed.write_text(HAZARDS.read_text(encoding="utf-8").replace(
        '  Unused: "never said"\n',
        '  Quibbleton: "Quibbleton"\n  km: "kilometres"\n  NHS: "N H S"\n  read: "red"\n'),
        encoding="utf-8")
    result = run("check", "--strict", fixed)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{fixed}: 18 findings, 0 to resolve\n"
    assert f"{fixed}:21: read -> red (lexicon)\n" in result.stdout


def test_spoken_prints_every_sentence_with_its_line() -> None:
    """--spoken shows each sentence exactly as the engine will receive it."""
    result = run("check", "--spoken", HAZARDS)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{HAZARDS}:12: Numbers and names",
        f"{HAZARDS}:14: Doctor Quibbleton met Zix-wok on 4 July nineteen eighty-seven and paid "
        "5 dollars 99 cents at Saint Agnes, 3 km away.",
        f"{HAZARDS}:16: It was number 5 versus Chapter 4, pages 10 to 20, and Henry the eighth, "
        "said the NHS.",
        f"{HAZARDS}:18: It's easy: write to info at example dot com or see example dot org and "
        "read it, read it.",
    ]


def test_the_committed_script_is_checked_by_default(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Without arguments check reads script/*.md, like render."""
    (tmp_path / "script").mkdir()
    shutil.copy2(ROOT / "script" / "crying-during-sex.md", tmp_path / "script")
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 0
    lines = (ROOT / "script" / "crying-during-sex.md").read_text(encoding="utf-8").splitlines()
    body = lines.index("---", 1) + 1  # the first line after the front matter
    line = next(number for number, text in enumerate(lines, 1) if number > body and "LMFT" in text)
    assert f"script/crying-during-sex.md:{line}: LMFT -> L M F T (to listen to: an initialism" \
        in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("check", "missing.md"), "audioguide: error: missing.md: no such script; check the path"),
    (("check", "--bogus"), "Error: No such option '--bogus'."),
    (("check",), "audioguide: error: no scripts given and none found in script/; give a "
                 "script path"),
])
def test_usage_errors_are_one_line(args: tuple[str, ...], message: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing script, a bad option or no script at all exits 2 with one line."""
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == message
    assert "Traceback" not in result.output


def test_missing_espeak_is_one_line(tmp_path: Path) -> None:
    """Without espeak-ng on PATH check fails with exit 1 and how to install it."""
    result = run("check", HAZARDS, env={"PATH": str(tmp_path)})
    assert result.exit_code == 1
    assert result.stderr == (
        "audioguide: error: espeak-ng is not installed, and check asks it how it reads each "
        "word; install it with: sudo apt-get install espeak-ng  (or run ./dev.sh render)\n")


def test_english_heteronyms_are_not_sought_in_other_languages(tmp_path: Path) -> None:
    """A French script's "content" is a French word, not an English heteronym."""
    script = tmp_path / "fr.md"
    script.write_text(HAZARDS.read_text(encoding="utf-8").split("## ")[0]
                      .replace("language: en-US", "language: fr-FR")
                      .replace('  Unused: "never said"\n', "")
                      + "## Un\n\nIl est content de lire Zyxwoq.\n", encoding="utf-8")
    result = run("check", script)
    assert result.exit_code == 0
    assert result.stdout == f"{script}:13: Zyxwoq -> Zix-wok (lexicon)\n"
