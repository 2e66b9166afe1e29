"""captions.vtt and chapters.vtt: the timeline as WebVTT text tracks; captions.srt too.

One caption cue per spoken sentence (its written form), one chapter cue per
chapter with the same spans and titles as the MP3's chapter frames. Neither
Chromium nor the usual parsers reject a malformed file (a comma in a timestamp
silently drops every cue), so the format is kept deliberately plain: the
`WEBVTT` line, a blank line, then cues with `HH:MM:SS.mmm` timestamps and a
single escaped payload line.
"""

from __future__ import annotations

import html
from pathlib import Path

from ..model import ChapterTiming
from ..units import vtt_timestamp
from . import Edition

CAPTIONS = "captions.vtt"
CHAPTERS = "chapters.vtt"
# The same captions as SubRip, which podcast apps and video tools read where WebVTT is not.
SUBRIP = "captions.srt"



def cue_text(text: str) -> str:
    """A cue payload: one line, with `&`, `<` and `>` as character references.

    Escaping `>` as well means the payload can never contain the `-->` arrow.
    """
    return html.escape(" ".join(text.split()), quote=False)


def chapter_spans(edition: Edition) -> list[tuple[ChapterTiming, int, int]]:
    """Each chapter with its (start, end) in ms in the whole-book files.

    These are the MP3's and M4B's chapter frames exactly: the books decode to the
    timeline's length, so the last chapter ends where the audio ends.
    """
    return [(c, c.start_ms, c.end_ms) for c in edition.timeline.chapters]


def _cue(identifier: str, start_ms: int, end_ms: int, text: str) -> str:
    end_ms = max(end_ms, start_ms + 1)
    timing = f"{vtt_timestamp(start_ms)} --> {vtt_timestamp(end_ms)}"
    return f"{identifier}\n{timing}\n{cue_text(text)}\n"


def _track(cues: list[str]) -> str:
    return "\n".join(["WEBVTT\n", *cues])


def captions_vtt(edition: Edition) -> str:
    """The caption track: one cue per sentence, named by the sentence id."""
    cues = [_cue(s.id, s.start_ms, s.end_ms, s.text)
            for chapter in edition.timeline.chapters for s in chapter.sentences]
    return _track(cues)


def chapters_vtt(edition: Edition) -> str:
    """The chapter track: contiguous cues, titled as the audio files' chapters."""
    cues = [_cue(f"chapter-{chapter.number}", start, end, chapter.title)
            for chapter, start, end in chapter_spans(edition)]
    return _track(cues)


def captions_srt(edition: Edition) -> str:
    """The captions as SubRip: numbered cues, a comma before the milliseconds, plain text."""
    cues = []
    sentences = [s for chapter in edition.timeline.chapters for s in chapter.sentences]
    for number, sentence in enumerate(sentences, start=1):
        start = vtt_timestamp(sentence.start_ms).replace(".", ",")
        end = vtt_timestamp(max(sentence.end_ms, sentence.start_ms + 1)).replace(".", ",")
        cues.append(f"{number}\n{start} --> {end}\n{' '.join(sentence.text.split())}\n")
    return "\n".join(cues)


def write(edition: Edition) -> list[Path]:
    files = []
    for name, text in ((CAPTIONS, captions_vtt(edition)), (CHAPTERS, chapters_vtt(edition)),
                       (SUBRIP, captions_srt(edition))):
        path = edition.path(name)
        path.write_text(text, encoding="utf-8", newline="\n")
        files.append(path)
    return files
