"""Word times from espeak-ng's own events, recorded while pyttsx3 writes the WAV file.

espeak-ng reports a word event for each word it speaks, with the exact sample at which
the word starts in this utterance. pyttsx3 registers its own callback with espeak-ng
when its driver starts (so rebinding the driver's method later changes nothing); a
`WordTap` registers in its place, records the events, and hands every call on to the
driver's callback unchanged, which still writes the file.

The times are only valid for the audio of the same call: espeak-ng carries state from
one utterance to the next, so the same sentence spoken again may differ by a few ms.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import WordTime

EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
# A word ends where the next begins, unless this much quiet comes first (a pause at a
# comma or a full stop): then it ends at its last sound louder than QUIET_DBFS.
PAUSE_MS = 50
QUIET_DBFS = -45.0
WINDOW_MS = 5
_TOKEN = re.compile(r"\S+")
_TRAILING = "\"'.,;:!?)]}\u2019\u201d\u2014\u2013-"
_LEADING = "\"'([{\u2018\u201c"


@dataclass(frozen=True)
class Event:
    """One espeak-ng event: its type, 0-based character position, length and sample."""

    type: int
    position: int
    length: int
    sample: int


class WordTap:
    """Records espeak-ng's events for the utterance being written by a pyttsx3 engine."""

    def __init__(self, engine: Any):
        from pyttsx3.drivers import _espeak

        self._driver = engine.proxy._driver
        self.events: list[Event] = []
        _espeak.SetSynthCallback(self._callback)  # _espeak keeps the reference alive

    def reset(self) -> None:
        self.events = []

    def _callback(self, wav: Any, samples: int, events: Any) -> int:
        if self._driver._speaking:  # the driver's own guard: events of a stopped utterance
            i = 0
            while events[i].type != EVENT_LIST_TERMINATED:
                event = events[i]
                # text_position counts characters (not bytes) from 1
                self.events.append(Event(event.type, event.text_position - 1, event.length,
                                         event.sample))
                i += 1
        result: int = self._driver._onSynth(wav, samples, events)
        return result


def word_times(text: str, events: list[Event], pcm: np.ndarray, rate: int
               ) -> tuple[WordTime, ...]:
    """The words of `text` as espeak-ng spoke them into `pcm` (mono 16-bit at `rate`)."""
    starts = _word_starts(text, events)
    ends = _word_ends([sample for _, sample in starts], pcm, rate)
    return tuple(WordTime(word, round(start * 1000 / rate), round(end * 1000 / rate))
                 for (word, start), end in zip(starts, ends, strict=True))


def _word_starts(text: str, events: list[Event]) -> list[tuple[str, int]]:
    """Each word's text and first sample: one word per event, except that the extra
    events of one expanded token ("1987" gives three) belong to its first."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)] or [(0, len(text))]
    token_starts = [start for start, _ in tokens]
    found: list[tuple[int, int, int]] = []  # (position, length, sample)
    for event in events:
        if event.type != EVENT_WORD or event.position < 0 or event.length <= 0:
            continue  # espeak-ng also sends empty word events at position 0
        if found and found[-1][0] <= event.position < found[-1][0] + found[-1][1]:
            continue
        found.append((event.position, event.length, event.sample))
    words = []
    for i, (position, _, sample) in enumerate(found):
        token = max(bisect.bisect_right(token_starts, position) - 1, 0)
        # A word's length stops at an apostrophe: it runs to the next word or its token's end.
        end = tokens[token][1]
        if i + 1 < len(found):
            end = min(end, found[i + 1][0])
        start, end = position, max(end, position + 1)
        while end > start + 1 and text[end - 1] in _TRAILING:
            end -= 1
        while start < end - 1 and text[start] in _LEADING:
            start += 1
        words.append((text[start:end], sample))
    return words


def _word_ends(starts: list[int], pcm: np.ndarray, rate: int) -> list[int]:
    """Where each word ends (samples): at the next word's start inside a phrase, at its
    last sound before a pause, and the last word at the utterance's last sound."""
    window = max(1, rate * WINDOW_MS // 1000)
    count = len(pcm) // window
    values = pcm[:count * window].astype(np.float64).reshape(count, window) / 32768.0
    level = 10 * np.log10((values ** 2).mean(axis=1) + 1e-20)
    loud = np.flatnonzero(level > QUIET_DBFS)
    ends = []
    for i, start in enumerate(starts):
        following = starts[i + 1] if i + 1 < len(starts) else len(pcm)
        inside = loud[(loud >= start // window) & (loud < following // window)]
        end = following
        if len(inside):
            last_sound = int(inside[-1] + 1) * window
            if i + 1 == len(starts) or (following - last_sound) * 1000 / rate >= PAUSE_MS:
                end = last_sound
        ends.append(max(start, end))
    return ends
