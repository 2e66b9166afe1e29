"""PLS lexicons: read next to a script (alias, x-espeak, IPA), refused safely, exported."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide import pls
from audioguide.cli import main
from audioguide.errors import ScriptError
from audioguide.script import parse_script

CORPUS = Path(__file__).resolve().parent / "corpus" / "pls"
NS = "{http://www.w3.org/2005/01/pronunciation-lexicon}"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_pls_file_next_to_the_script_is_read() -> None:
    """Aliases, x-espeak and IPA phonemes apply; the front matter's entry wins over the file's."""
    script = parse_script(CORPUS / "names.md")
    assert script.lexicon == (
        ("tristesse", "[[tri:st'Es]]"), ("Nguyen", "[['wIn]]"), ("NGUYEN", "[['wIn]]"),
        ("Unheard", "never said & never heard"), ("Shadeen", "Sha-deen"))
    assert script.chapters[0].sentences[1].spoken == "Sha-deen [['wIn]] felt [[tri:st'Es]]."


def test_check_names_unused_pls_entries_in_the_pls_file() -> None:
    """An entry of the PLS file that never matches is reported at its line in that file."""
    result = run("check", CORPUS / "names.md")
    assert result.exit_code == 0
    pls_file, md = CORPUS / "names.pls", CORPUS / "names.md"
    assert result.stdout == (
        f"{pls_file}:12: NGUYEN -> [['wIn]] (lexicon entry never used)\n"
        f"{pls_file}:17: Unheard -> never said & never heard (lexicon entry never used)\n"
        f"{md}:14: Shadeen -> Sha-deen (lexicon)\n"
        f"{md}:14: Nguyen -> [['wIn]] (lexicon)\n"
        f"{md}:14: tristesse -> [[tri:st'Es]] (lexicon)\n")


LEXICON_HEAD = ('<?xml version="1.0"?>\n<lexicon version="1.0" '
                'xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" '
                'xml:lang="en-US">\n')


@pytest.mark.parametrize(("text", "line", "message"), [
    ('<?xml version="1.0"?>\n<!DOCTYPE lexicon [\n<!ENTITY a "aaaaaaaaaa">\n'
     '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n<lexicon>&b;</lexicon>\n', 2,
     "the lexicon has a DOCTYPE; remove it (entities are not read)"),
    (LEXICON_HEAD + "<lexeme><grapheme>x</grapheme>\n", 4,
     "the lexicon is not well-formed XML (no element found)"),
    (LEXICON_HEAD + "<lexeme>\n<grapheme>Bach</grapheme><phoneme>bɑːx̣</phoneme></lexeme>"
     "</lexicon>", 4, "the IPA symbol '̣' (U+0323) has no espeak-ng counterpart here; write the "
     'phoneme with alphabet="x-espeak"'),
    (LEXICON_HEAD + "<lexeme>\n<grapheme>Bach</grapheme></lexeme></lexicon>", 3,
     "a lexeme needs a <grapheme> and an <alias> or <phoneme>"),
    ('<?xml version="1.0"?>\n<lexicon/>', 2, "is not a PLS lexicon: its root must be <lexicon "
     'xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">'),
    (LEXICON_HEAD.replace('"ipa"', '"x-sampa"') + "<lexeme><grapheme>a</grapheme>\n"
     "<phoneme>a</phoneme></lexeme></lexicon>", 4,
     "phoneme alphabet 'x-sampa' is not read; use x-espeak or ipa"),
])
def test_a_bad_pls_file_is_one_error_naming_its_line(text: str, line: int, message: str,
                                                     tmp_path: Path) -> None:
    """Entities are never expanded; malformed or unreadable lexicons name file and line."""
    path = tmp_path / "bad.pls"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        pls.read(path)
    assert caught.value.format() == f"{path}:{line}: {message}"


def test_a_missing_or_escaping_lexicon_file_is_refused(tmp_path: Path) -> None:
    """lexicon_file names a file beside the script; a missing one or one elsewhere is an error."""
    script = tmp_path / "names.md"
    text = (CORPUS / "names.md").read_text(encoding="utf-8")
    script.write_text(text, encoding="utf-8")
    result = run("check", "--spoken", script)
    assert result.exit_code == 2
    assert result.stderr == (f"audioguide: error: {tmp_path / 'names.pls'}: no such lexicon "
                             "file; lexicon_file names a file next to the script\n")
    script.write_text(text.replace("names.pls", "../names.pls"), encoding="utf-8")
    result = run("check", "--spoken", script)
    assert result.exit_code == 2
    assert result.stderr == (f"audioguide: error: {script}:7: lexicon_file must name a file "
                             "next to the script (or in a folder beside it), such as names.pls\n")


def test_export_pls_round_trips(tmp_path: Path) -> None:
    """check --export-pls writes valid PLS that reads back to the same lexicon."""
    out = tmp_path / "exported.pls"
    result = run("check", "--export-pls", out, CORPUS / "names.md")
    assert result.exit_code == 0
    assert result.stderr == f"{out}: 5 lexicon entries of {CORPUS / 'names.md'}\n"
    root = ET.parse(out).getroot()
    assert root.tag == f"{NS}lexicon" and root.get("alphabet") == "x-espeak"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    assert [(lx[0].text, lx[1].tag.removeprefix(NS), lx[1].text) for lx in root] == [
        ("tristesse", "phoneme", "tri:st'Es"), ("Nguyen", "phoneme", "'wIn"),
        ("NGUYEN", "phoneme", "'wIn"), ("Unheard", "alias", "never said & never heard"),
        ("Shadeen", "alias", "Sha-deen")]
    copy = tmp_path / "copy.md"
    copy.write_text((CORPUS / "names.md").read_text(encoding="utf-8")
                    .replace("names.pls", "exported.pls")
                    .replace('lexicon:\n  Shadeen: "Sha-deen"\n', ""), encoding="utf-8")
    assert parse_script(copy).lexicon == parse_script(CORPUS / "names.md").lexicon


def test_export_pls_takes_one_script(tmp_path: Path) -> None:
    """Two scripts and one PLS file is a usage error."""
    result = run("check", "--export-pls", tmp_path / "x.pls", CORPUS / "names.md",
                 CORPUS / "names.md")
    assert result.exit_code == 2
    assert result.stderr == ("audioguide: error: --export-pls writes one script's lexicon; "
                             "give one script\n")
    assert not (tmp_path / "x.pls").exists()


def test_editing_the_pls_file_makes_the_edition_stale(tmp_path: Path) -> None:
    """The script's content address covers its PLS entries, so `render --check` sees a change."""
    for name in ("names.md", "names.pls"):
        (tmp_path / name).write_bytes((CORPUS / name).read_bytes())
    before = parse_script(tmp_path / "names.md").digest
    lexicon = tmp_path / "names.pls"
    lexicon.write_text(lexicon.read_text(encoding="utf-8").replace("tri:st'Es", "tri:st'Ez"),
                       encoding="utf-8")
    assert parse_script(tmp_path / "names.md").digest != before
