"""A strict WebVTT checker for the edition's text tracks.

Browsers and webvtt-py accept malformed files without a word (Chromium drops every
cue of a file whose timestamps use a comma), so the tests check the files against
the WebVTT specification themselves, more strictly than it requires where
audioguide promises more: timestamps always with hours, one payload line, every
`&`, `<` and `>` written as a character reference, and no tag but inline timestamps
(`<00:01:02.345>`), each later than the cue's start and the one before it and earlier
than the cue's end.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from itertools import pairwise

TIMESTAMP = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
TIMING_LINE = re.compile(rf"^{TIMESTAMP} --> {TIMESTAMP}$")
# The character references a cue text may use (the WebVTT escapes; named and numeric).
INLINE_TIMESTAMP = re.compile(rf"<{TIMESTAMP}>")
REFERENCE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#[xX][0-9A-Fa-f]+);")


class VTTError(AssertionError):
    """A WebVTT file breaks a rule; says which line."""


@dataclass(frozen=True)
class Cue:
    """A parsed cue: identifier, times in ms, payload as written and as text."""

    identifier: str
    start_ms: int
    end_ms: int
    payload: str

    @property
    def text(self) -> str:
        return html.unescape(INLINE_TIMESTAMP.sub("", self.payload))

    @property
    def word_starts(self) -> list[tuple[int, str]]:
        """The inline timestamps (ms) with the text each one precedes, up to the next."""
        parts = INLINE_TIMESTAMP.split(self.payload)
        # split() gives the text before the first tag, then four groups and text per tag
        return [(_ms(*parts[i:i + 4]), html.unescape(parts[i + 4]))
                for i in range(1, len(parts), 5)]


def _ms(hours: str, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def parse(content: str) -> list[Cue]:
    """Parse and check a WebVTT file; raise VTTError naming the first broken rule."""
    if content.startswith("\ufeff"):
        content = content[1:]
    if "\r" in content:
        raise VTTError("line 1: use LF line endings only")
    if "\x00" in content:
        raise VTTError("the file contains a NUL character")
    lines = content.split("\n")
    if not re.match(r"^WEBVTT([ \t].*)?$", lines[0]):
        raise VTTError("line 1: the file must start with 'WEBVTT'")
    if "-->" in lines[0]:
        raise VTTError("line 1: the header must not contain '-->'")
    if len(lines) < 2 or lines[1] != "":
        raise VTTError("line 2: a blank line must follow the WEBVTT header")
    if not content.endswith("\n"):
        raise VTTError("the file must end with a line break")
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first_line = 0
    for number, line in enumerate(lines[2:], start=3):
        if line == "":
            if current:
                blocks.append((first_line, current))
                current = []
            continue
        if not current:
            first_line = number
        current.append(line)
    if current:
        blocks.append((first_line, current))
    cues = [_cue(first, block) for first, block in blocks]
    if not cues:
        raise VTTError("the file has no cues")
    identifiers = [cue.identifier for cue in cues if cue.identifier]
    if len(identifiers) != len(set(identifiers)):
        raise VTTError("two cues have the same identifier")
    for previous, cue in pairwise(cues):
        if cue.start_ms < previous.start_ms:
            raise VTTError(f"cue {cue.identifier!r} starts before the cue before it")
    return cues


def _cue(first: int, block: list[str]) -> Cue:
    if block[0].startswith("NOTE") or block[0].startswith("STYLE") or \
            block[0].startswith("REGION"):
        raise VTTError(f"line {first}: no NOTE, STYLE or REGION blocks are expected")
    identifier = ""
    if "-->" not in block[0]:
        identifier = block[0]
        block = block[1:]
        first += 1
        if not block:
            raise VTTError(f"line {first - 1}: a cue identifier without a timing line")
    match = TIMING_LINE.match(block[0])
    if not match:
        raise VTTError(f"line {first}: not a cue timing line 'HH:MM:SS.mmm --> HH:MM:SS.mmm' "
                       f"(no settings, no comma): {block[0]!r}")
    start, end = _ms(*match.groups()[:4]), _ms(*match.groups()[4:])
    if end <= start:
        raise VTTError(f"line {first}: the cue ends at or before its start")
    payload_lines = block[1:]
    if len(payload_lines) != 1:
        raise VTTError(f"line {first}: expected exactly one payload line, "
                       f"found {len(payload_lines)}")
    payload = payload_lines[0]
    if "-->" in payload:
        raise VTTError(f"line {first + 1}: the payload contains '-->'")
    last = start
    for match in INLINE_TIMESTAMP.finditer(payload):
        at = _ms(*match.groups())
        if not last < at < end:
            raise VTTError(f"line {first + 1}: the inline timestamp {match.group()} is not "
                           "after the cue's start and the one before it and before its end")
        last = at
    bare = INLINE_TIMESTAMP.sub("", payload)
    if "<" in bare or ">" in bare:
        raise VTTError(f"line {first + 1}: the payload contains a raw '<' or '>'")
    if "&" in REFERENCE.sub("", bare):
        raise VTTError(f"line {first + 1}: the payload contains a raw '&'")
    if payload != payload.strip():
        raise VTTError(f"line {first + 1}: the payload has leading or trailing spaces")
    return Cue(identifier, start, end, payload)


def check_chapters(cues: list[Cue]) -> None:
    """Chapter cues: contiguous from 0, disjoint, never two identical, titles not empty."""
    if cues[0].start_ms != 0:
        raise VTTError("the first chapter must start at 0")
    seen = set()
    for previous, cue in pairwise(cues):
        if cue.start_ms != previous.end_ms:
            raise VTTError(f"chapter {cue.identifier!r} does not start where "
                           f"{previous.identifier!r} ends")
    for cue in cues:
        if not cue.text.strip():
            raise VTTError(f"chapter {cue.identifier!r} has no title")
        key = (cue.start_ms, cue.end_ms, cue.text)
        if key in seen:
            raise VTTError(f"chapter {cue.identifier!r} repeats another cue")
        seen.add(key)
