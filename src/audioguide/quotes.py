"""Quoted speech in a block of text, and a sentence cut into runs by voice.

A quotation runs from an opening mark to its closing mark, across sentences when
it goes on (“… release,” says Francis. “This release can …”): each half keeps the
quotation's voice and the attribution between them the narrator's. A quotation
with no closing mark in its block runs to the block's end, as a quotation that
goes on into the next paragraph does in print. Scare quotes ("so-called
“normal”") are not speech: a quotation of fewer than `min_words` words stays in
the narrator's voice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .model import Run, VoiceRole

# Opening marks and the mark that closes each. „ (German, Czech) closes with “, which
# opens in English: a closing mark is looked for only after its own opening one.
_CLOSING = {"“": "”", "«": "»", "„": "“", '"': '"'}
_WORD = re.compile(r"\w+")
_SPEAKABLE = re.compile(r"\w")


def quotation_ranges(text: str, min_words: int) -> list[tuple[int, int]]:
    """Where the quotations of `text` are, as (start, end) offsets with their marks."""
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        mark = text[i]
        if mark in _CLOSING and (mark != '"' or _opens(text, i)):
            close = text.find(_CLOSING[mark], i + 1)
            end = len(text) if close < 0 else close + 1
            if len(_WORD.findall(text[i:end])) >= min_words:
                ranges.append((i, end))
            i = end
        else:
            i += 1
    return ranges


def _opens(text: str, i: int) -> bool:
    """Whether a straight double quote at `i` opens (at the start, or after a space or
    an opening bracket or dash) rather than closes."""
    return i == 0 or text[i - 1].isspace() or text[i - 1] in "([{—–-:"


def runs(text: str, start: int, ranges: Sequence[tuple[int, int]],
         spoken: Callable[[str, int, int], str]) -> tuple[Run, ...]:
    """The runs of the sentence `text`, found at offset `start` of its block.

    `spoken(piece, at, end)` gives the spoken form of `text[at:end]`. Returns ()
    when the whole sentence is the narrator's. Punctuation alone (a full stop after
    a closing mark) joins the run before it, so no run is only a mark.
    """
    end = start + len(text)
    cuts = {0, len(text)}
    for a, b in ranges:
        if a < end and b > start:
            cuts.update((max(a, start) - start, min(b, end) - start))
    edges = sorted(cuts)
    pieces: list[tuple[int, int, VoiceRole]] = []
    for a, b in zip(edges, edges[1:], strict=False):
        middle = start + (a + b) // 2
        role: VoiceRole = "quote" if any(x <= middle < y for x, y in ranges) else "narrator"
        if pieces and (not _SPEAKABLE.search(text[a:b]) or pieces[-1][2] == role):
            pieces[-1] = (pieces[-1][0], b, pieces[-1][2])
        elif pieces and not _SPEAKABLE.search(text[pieces[-1][0]:pieces[-1][1]]):
            pieces[-1] = (pieces[-1][0], b, role)  # a lone opening mark joins what follows
        else:
            pieces.append((a, b, role))
    if all(role == "narrator" for _, _, role in pieces):
        return ()
    result = []
    for a, b, role in pieces:
        piece = text[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), a + len(piece.rstrip())
        said = spoken(text[a:b], a, b)
        if said:
            result.append(Run(text[a:b], said, role))
    return tuple(result)
