"""A narration script whose titles and text are full of characters that need escaping."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import render_fake

TRICKY_SCRIPT = textwrap.dedent("""\
    ---
    title: "Tricks & <Traps>: \\"Quotes\\" --> Arrows"
    author: "A & B <authors>"
    source:
      name: "R&D <Weekly>"
      url: "https://example.com/a?b=1&c=2"
    language: en-GB
    narrator: "Synthetic voice: test engine"
    description: "Escaping test: & < > --> \\"quoted\\" 'single'."
    content_note: "Warnings & <notes>"
    ---

    ## Warnings & \\<notes>

    This note mentions \\<script>alert("x")\\</script> & more. It ends --> here.

    ## Q&A: "Arrows" --> 'everywhere'

    Tom & Jerry said "hi" --> 'bye'. Then 1 < 2 && 3 > 2 held
    on two lines.

    ## \\<script>alert(1)\\</script>

    A chapter whose title is markup. The end.
    """)


def render_tricky(base: Path) -> Path:
    """Render the tricky script with the fake engine under `base`; return the edition."""
    script = base / "tricky.md"
    script.write_text(TRICKY_SCRIPT, encoding="utf-8")
    return render_fake(script, base / "audio", base / "cache").folder
