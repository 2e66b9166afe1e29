"""`audioguide init`: a script drafted from text, Markdown or HTML renders once written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide.cli import main
from audioguide.script import parse_script
from conftest import render_fake

ARTICLES = Path(__file__).resolve().parent / "corpus" / "articles"
ARTICLE = ARTICLES / "crying-during-sex.txt"
PLACEHOLDER = re.compile(r"\[TO WRITE: [^\]]*\]")
ARTICLE_CHAPTERS = [
    "Content note", "Introduction",
    "What an Expert Has to Say About Emotional Release And Crying During Sex",
    "The Physical Triggers To Consider", "How to Support a Partner Who Cries During Sex",
    "Credits",
]


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


def fill(script: Path) -> None:
    """Write every placeholder, as an author would."""
    text = script.read_text(encoding="utf-8")
    script.write_text(PLACEHOLDER.sub("Written by the author.", text), encoding="utf-8")


def rendered_titles(script: Path, tmp_path: Path) -> list[str]:
    """Chapter titles of the script's edition, rendered with the fake engine."""
    folder = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("chapters",)).folder
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [c["title"] for c in data["chapters"]]


def test_the_article_drafts_its_sections_and_renders_once_written(tmp_path: Path) -> None:
    """Plain text: the opening and the three headed sections, glued words parted, then render."""
    script = tmp_path / "script" / "article.md"
    result = run("init", ARTICLE, "-o", script)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"{ARTICLE}: read as plain text\n"
        f"{ARTICLE}:5: 'What an Expert Has to Say About Emotional Release And Crying During "
        "Sex' taken as a chapter heading\n"
        f"{ARTICLE}:7: 'FrancisLMFT' read as 'Francis, LMFT'\n"
        f"{ARTICLE}:15: 'The Physical Triggers To Consider' taken as a chapter heading\n"
        f"{ARTICLE}:23: 'How to Support a Partner Who Cries During Sex' taken as a chapter "
        "heading\n"
        f"{script}: drafted 4 chapters from {ARTICLE} (Introduction, What an Expert Has to Say "
        "About Emotional Release And Crying During Sex, The Physical Triggers To Consider, How "
        "to Support a Partner Who Cries During Sex), plus Content note and Credits; write the 6 "
        f"[TO WRITE: ...] placeholders, then run `audioguide check {script}`\n")
    text = script.read_text(encoding="utf-8")
    assert "Shadeen Francis, LMFT, CST" in text and "FrancisLMFT" not in text
    assert re.findall(r"^## (.*)$", text, re.M) == ARTICLE_CHAPTERS
    paragraphs = [p for p in ARTICLE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    for paragraph in paragraphs:
        assert paragraph.strip().replace("FrancisLMFT", "Francis, LMFT") in text

    refused = run("render", script, "--engine", "fake", "-o", tmp_path / "audio")
    assert refused.exit_code == 2
    assert refused.stderr == (f"audioguide: error: {script}:2: title is still a placeholder; "
                              "replace '[TO WRITE: the title of the article]' with the text\n")
    fill(script)
    assert rendered_titles(script, tmp_path) == ARTICLE_CHAPTERS


def test_a_placeholder_left_in_a_chapter_names_its_line(tmp_path: Path) -> None:
    """Front matter written but the credits not: the error names the credits' line."""
    script = tmp_path / "article.md"
    assert run("init", ARTICLE, "-o", script).exit_code == 0
    text = script.read_text(encoding="utf-8")
    body = text.index("\n---\n")
    script.write_text(PLACEHOLDER.sub("Written.", text[:body]) + text[body:], encoding="utf-8")
    result = run("check", "--spoken", script)
    assert result.exit_code == 2
    assert result.stderr == (f"audioguide: error: {script}:15: a placeholder is still to be "
                             "written; replace '[TO WRITE: what the article discusses that a "
                             "listener may w…' with text\n")


def test_an_html_article_keeps_the_article_and_leaves_the_page(tmp_path: Path) -> None:
    """HTML: metadata fills the front matter; navigation, scripts, ads, figures are left out."""
    source = ARTICLES / "naps.html"
    script = tmp_path / "naps.md"
    result = run("init", source, "-o", script)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:4] == [
        f"{source}: read as HTML",
        f"{source}:21: a figure left out",
        f"{source}:29: an image left out",
        f"{source}:30: the h3 heading 'A last word' kept as a paragraph",
    ]
    text = script.read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "Why we nap"\nauthor: "Ada Example"\nsource:\n'
                           '  name: "The Daily Example"\n  url: "https://example.com/naps"\n'
                           'language: en-GB\n')
    assert 'description: "A short article on naps & sleep."' in text
    assert re.findall(r"^## (.*)$", text, re.M) == [
        "Content note", "Introduction", "The science", "How to nap", "Credits"]
    assert ("Most mammals sleep in *short* bouts, and the <abbr title=\"World Health "
            "Organization\">WHO</abbr> has views.") in text
    assert ("A **short** nap of [twenty minutes](https://example.org/study) helps; this link "
            "does not.") in text
    assert "> Sleep is the best meditation.\n\n- Keep it short.\n- Nap early & often." in text
    for left_out in ("alert", "onerror", "tracker", "News", "Breadcrumb", "mattress",
                     "Related", "Great article", "Copyright", "cat", "javascript", "font"):
        assert left_out not in text, left_out
    fill(script)
    parsed = parse_script(script)
    spoken = " ".join(s.spoken for s in parsed.sentences())
    assert "the World Health Organization has views" in spoken
    assert rendered_titles(script, tmp_path) == [
        "Content note", "Introduction", "The science", "How to nap", "Credits"]


def test_alt_text_is_kept_only_when_asked(tmp_path: Path) -> None:
    """--keep-alt keeps an image's alt text as a sentence of the draft."""
    script = tmp_path / "walks.md"
    result = run("init", ARTICLES / "walks.md", "-o", script, "--keep-alt")
    assert result.exit_code == 0
    assert "\n\nA path through a wood.\n\n" in script.read_text(encoding="utf-8")


def test_a_markdown_article_keeps_its_markdown(tmp_path: Path) -> None:
    """Markdown: # is the title, ## the chapters, ### a paragraph, code and images left out."""
    source = ARTICLES / "walks.md"
    script = tmp_path / "walks.md"
    result = run("init", source, "-o", script)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:4] == [
        f"{source}: read as Markdown",
        f"{source}:5: an image left out (give --keep-alt to keep its alt text)",
        f"{source}:16: a code block left out",
        f"{source}:20: the h3 heading 'Getting started' kept as a paragraph",
    ]
    text = script.read_text(encoding="utf-8")
    assert text.split("---\n")[2].strip().split("\n\n")[2:-1] == [
        "## Introduction",
        'Walking is *good* for you, and <abbr title="Doctor">Dr.</abbr> Lee agrees.',
        "## Benefits", "Walking lifts the mood.", "> A walk a day keeps the doctor away.",
        "- It is free.\n- It is easy.", "Getting started", "Start with ten minutes.",
        "## Habits", "Walk after meals.", "## Credits",
    ]
    assert 'title: "Why we walk"' in text
    fill(script)
    assert rendered_titles(script, tmp_path) == [
        "Content note", "Introduction", "Benefits", "Habits", "Credits"]


def test_standard_input_and_the_default_path(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`init -` reads the article from standard input and writes script/<title>.md."""
    monkeypatch.chdir(tmp_path)
    result = run("init", "-", stdin="A Title Line\n\nSome text.\n\nA Heading Here\n\nMore.\n")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "script" / "a-title-line.md").read_text(encoding="utf-8")
    assert 'title: "A Title Line"' in text
    assert re.findall(r"^## (.*)$", text, re.M) == [
        "Content note", "Introduction", "A Heading Here", "Credits"]


def test_an_existing_script_is_never_replaced_without_force(tmp_path: Path) -> None:
    """A second init to the same path exits 2 and leaves the script; --force replaces it."""
    script = tmp_path / "article.md"
    script.write_text("the author's own work", encoding="utf-8")
    result = run("init", ARTICLE, "-o", script)
    assert result.exit_code == 2
    assert result.stderr == (f"audioguide: error: {script}: already exists; give another path "
                             "with -o, or --force to replace it\n")
    assert script.read_text(encoding="utf-8") == "the author's own work"
    assert [p.name for p in tmp_path.iterdir()] == ["article.md"]
    assert run("init", ARTICLE, "-o", script, "--force").exit_code == 0
    assert script.read_text(encoding="utf-8").startswith("---\ntitle:")


@pytest.mark.parametrize(("source", "message"), [
    ("missing.txt", "missing.txt: no such article file; check the path"),
    (".", ".: is not a file; give the article's file"),
])
def test_a_bad_source_is_one_line(source: str, message: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing or unreadable article exits 2 with one line and writes nothing."""
    monkeypatch.chdir(tmp_path)
    result = run("init", source)
    assert result.exit_code == 2
    assert result.stderr == f"audioguide: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_an_empty_article_is_refused(tmp_path: Path) -> None:
    """Standard input with nothing on it is an error, not an empty script."""
    result = run("init", "-", "-o", tmp_path / "x.md", stdin="\n \n")
    assert result.exit_code == 2
    assert result.stderr == "audioguide: error: the article is empty\n"
    assert not (tmp_path / "x.md").exists()
