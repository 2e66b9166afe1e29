"""The programme's plan and its timeline: clips and pauses in order, cut into encode
segments, laid out in the files, and timed from where the joins put them.

Each clip is the sentence's speech with CLIP_MARGIN_MS of its own quiet on either side
(the engine's longer leading and trailing silence is trimmed when the clip is made), so
the silence a listener hears between two sentences is the pause the script sets: the
pause piece between two clips is that pause less the two margins.

A chapter opens with the first half of the chapter pause (the book with the lead-in)
and closes with the rest (the book with the tail). Each chapter is also a file of its
own, and every file a listener may get alone opens with HEAD_MS and closes with TAIL_MS
of room tone at least: where a chapter's share of the pause is shorter, its file gets
a pad of room tone (an encode of its own) that the book does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from .framing import (
    MP3,
    Codec,
    Placeable,
    follow,
    frames_to_keep_at_least,
    heard_starts,
    output_samples,
    pcm_frames,
    place,
    to_ms,
)
from .model import ChapterTiming, Clip, Script, SentenceTiming, Timeline, WordTime, WordTiming
from .words import written_words

CLIP_MARGIN_MS = 20
# At the edges of a clip, quieter than this is not speech: well under what a listener
# hears over the room tone at any gain the mastering applies...
SILENCE_THRESHOLD_DBFS = -60.0
# ...and neither is what is this much under the clip's own speech level (the power of
# its 1 ms chunks above SILENCE_THRESHOLD_DBFS). A voice that ends on a soft consonant
# fades out over up to 120 ms some 25-40 dB under its speech: kept, that fade lengthens
# the pause a listener hears after it by as much. Mastered to -19 LUFS, 27 dB under the
# speech is about -46 dBFS, just under where a pause is measured to begin (-45 dBFS).
EDGE_BELOW_SPEECH_DB = 27.0
# The room tone a file opens and closes with, at least (audiobook production asks for
# 0.5-1 s at the head and 1-5 s at the tail); a pad brings a chapter file up to these.
HEAD_MS = (500, 1000)
TAIL_MS = (1000, 5000)
# A file whose head or tail is within this of the least is padded too (the first word's
# onset is a little softer than the clip's edge).
PAD_MARGIN_MS = 100
PAD_HEAD_MS = 750
PAD_TAIL_MS = 1500
SEGMENT_SECONDS = 20.0  # a segment closes at the first paragraph pause after this much
MIN_SEGMENT_SECONDS = 10.0  # ...unless less than this would be left for the chapter
MIN_CUT_MS = 300  # a segment only ends in a pause at least this long
# A sentence with nothing to speak (emoji, punctuation) keeps its place in the timeline:
# its caption and its clip in the books are this long, in quiet.
WRITTEN_ONLY_MS = 800
CUT_GUARD_MS = 20  # quiet kept after a segment's last clip, whatever the join keeps


@dataclass(frozen=True)
class Piece:
    """A stretch of the programme: a clip (with its sentence) or room tone."""

    frames: int
    clip: Clip | None = None
    sentence_id: str = ""
    text: str = ""
    cut: bool = False  # a pause after which a segment may end
    words: tuple[WordTime, ...] = ()  # the written words, in ms from the clip's start


@dataclass(frozen=True)
class Segment:
    """A run of pieces encoded as one unit; `chapter` is -1 for a pad of room tone."""

    chapter: int
    pieces: tuple[Piece, ...]

    @property
    def frames(self) -> int:
        """Its length in programme PCM frames, as the script's timing has it."""
        return sum(p.frames for p in self.pieces)

    @property
    def spoken_frames(self) -> int:
        """PCM frames up to the end of its last clip, plus a guard: what a join must keep."""
        end = 0
        at = 0
        for piece in self.pieces:
            at += piece.frames
            if piece.clip is not None:
                end = at
        return min(self.frames, end + pcm_frames(CUT_GUARD_MS)) if end else 0


def plan(script: Script, clips: dict[str, Clip]) -> list[list[Piece]]:
    """The pieces of every chapter in order, with pauses resolved to PCM frames."""
    pauses = script.pauses
    margins = 2 * pcm_frames(CLIP_MARGIN_MS)
    chapters = []
    for index, chapter in enumerate(script.chapters):
        last = index == len(script.chapters) - 1
        head_ms = pauses.lead_in_ms if index == 0 else chapter_head_ms(script)
        next_head_ms = 0 if last else chapter_head_ms(script)
        pieces = [Piece(max(0, pcm_frames(head_ms) - margins // 2))]
        sentences = chapter.sentences
        for i, sentence in enumerate(sentences):
            clip = clips.get(sentence.id) if sentence.spoken else None
            if clip is not None:
                pieces.append(Piece(clip.frames, clip, sentence.id, sentence.text,
                                    words=written_words(sentence.text, clip.words)))
            else:  # written only: shown for a moment of quiet
                pieces.append(Piece(pcm_frames(WRITTEN_ONLY_MS), None, sentence.id,
                                    sentence.text))
            pause_ms = sentence.pause_after_ms
            if i == len(sentences) - 1:
                pause_ms = max(0, pause_ms - next_head_ms) + (pauses.tail_ms if last else 0)
                frames = max(0, pcm_frames(pause_ms) - margins // 2)
            else:
                frames = max(0, pcm_frames(pause_ms) - margins)
            block_ends = i + 1 < len(sentences) and sentences[i + 1].block != sentence.block
            if frames:
                pieces.append(Piece(frames, cut=block_ends and pause_ms >= MIN_CUT_MS))
        chapters.append(pieces)
    return chapters


def chapter_head_ms(script: Script) -> int:
    """The part of the chapter pause that opens the next chapter (in the book too)."""
    return script.pauses.chapter_ms // 2


def segments(chapter: int, pieces: list[Piece]) -> list[Segment]:
    """Cut a chapter at paragraph pauses into segments of about SEGMENT_SECONDS."""
    runs: list[list[Piece]] = [[]]
    frames = 0
    remaining = sum(p.frames for p in pieces)
    for piece in pieces:
        runs[-1].append(piece)
        frames += piece.frames
        remaining -= piece.frames
        if (piece.cut and frames >= pcm_frames(round(SEGMENT_SECONDS * 1000))
                and remaining >= pcm_frames(round(MIN_SEGMENT_SECONDS * 1000))):
            runs.append([])
            frames = 0
    return [Segment(chapter, tuple(run)) for run in runs if run]


def pads(script: Script, index: int) -> tuple[Segment | None, Segment | None]:
    """The room tone a chapter's own file needs before and after the chapter's segments."""
    pauses = script.pauses
    last = index == len(script.chapters) - 1
    head_ms = pauses.lead_in_ms if index == 0 else chapter_head_ms(script)
    final = script.chapters[index].sentences[-1].pause_after_ms
    tail_ms = (max(0, final - chapter_head_ms(script)) if not last
               else final + pauses.tail_ms)
    head = _pad(PAD_HEAD_MS - head_ms) if head_ms < HEAD_MS[0] + PAD_MARGIN_MS else None
    tail = _pad(PAD_TAIL_MS - tail_ms) if tail_ms < TAIL_MS[0] + PAD_MARGIN_MS else None
    return head, tail


def _pad(ms: int) -> Segment:
    return Segment(-1, (Piece(pcm_frames(ms)),))


@dataclass(frozen=True)
class Layout:
    """One file's segments in order, with the frames of each encode it keeps."""

    segments: tuple[Segment, ...]
    kept: tuple[int, ...]

    def heard(self, codec: Codec) -> list[int]:
        """Where each segment is heard (output samples), and last the file's length."""
        return heard_starts(codec, self.kept)


def lay_out(codec: Codec, parts: list[Segment], frames: list[int],
            starts: list[int] | None = None) -> Layout:
    """Place segments in one file: each as long as the script's timing makes it, or heard
    at `starts` (output samples) when another file's actual times are to be followed."""
    placeable = [Placeable(count, frames_to_keep_at_least(codec, segment.spoken_frames))
                 for segment, count in zip(parts, frames, strict=True)]
    if starts is not None:
        return Layout(tuple(parts), tuple(follow(codec, placeable, starts)))
    lengths = [output_samples(segment.frames) for segment in parts]
    return Layout(tuple(parts), tuple(place(codec, placeable, lengths)))


def timeline(script: Script, book: Layout, chapter_files: list[Layout]) -> Timeline:
    """Chapter and sentence times, as heard in the book's and the chapter files' MP3s."""
    book_heard = book.heard(MP3)
    timings = []
    for number, (chapter, own) in enumerate(zip(script.chapters, chapter_files, strict=True)):
        in_book = [i for i, s in enumerate(book.segments) if s.chapter == number]
        own_heard = own.heard(MP3)
        first_own = next(i for i, s in enumerate(own.segments) if s.chapter == number)
        sentences = []
        for k, index in enumerate(in_book):
            book_at, file_at = book_heard[index], own_heard[first_own + k]
            for piece, offset in _clips(book.segments[index]):
                begin, finish = _speech(piece, offset)
                places = _within(offset, begin, finish,
                                 [(w.start_ms, w.end_ms) for w in piece.words])
                words = tuple(
                    WordTiming(word.text, to_ms(book_at + start), to_ms(book_at + end),
                               to_ms(file_at + start), to_ms(file_at + end))
                    for word, (start, end) in zip(piece.words, places, strict=True))
                runs = piece.clip.runs if piece.clip else ()
                voices = tuple(
                    (role, to_ms(book_at + start), to_ms(book_at + end))
                    for (role, _, _), (start, end) in zip(
                        runs, _within(offset, begin, finish, [(a, b) for _, a, b in runs]),
                        strict=True))
                sentences.append(SentenceTiming(
                    piece.sentence_id, piece.text, to_ms(book_at + begin),
                    to_ms(book_at + finish), to_ms(file_at + begin), to_ms(file_at + finish),
                    words, voices))
        timings.append(ChapterTiming(chapter.number, chapter.title, chapter.slug,
                                     to_ms(book_heard[in_book[0]]),
                                     to_ms(book_heard[in_book[-1] + 1]), to_ms(own_heard[-1]),
                                     tuple(sentences)))
    return Timeline(tuple(timings))


def _clips(segment: Segment) -> list[tuple[Piece, int]]:
    """The segment's sentences (clips, and quiet for written-only text) with their offsets
    (PCM frames) from its start."""
    found = []
    at = 0
    for piece in segment.pieces:
        if piece.sentence_id:
            found.append((piece, at))
        at += piece.frames
    return found


def _within(offset: int, begin: int, finish: int,
            spans_ms: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where each (start, end) of a clip (its words, its voices) is heard, in output
    samples from its segment's start, kept inside the sentence's speech."""
    def at(ms: int) -> int:
        return min(finish, max(begin, output_samples(offset + pcm_frames(ms))))

    return [(at(start), at(end)) for start, end in spans_ms]


def _speech(piece: Piece, offset: int) -> tuple[int, int]:
    """Where a clip's speech begins and ends (output samples from its segment's start)."""
    margin = min(pcm_frames(CLIP_MARGIN_MS), piece.frames // 4) if piece.clip else 0
    return (output_samples(offset + margin),
            output_samples(offset + piece.frames - margin))
