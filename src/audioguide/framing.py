"""Frame arithmetic: where a sample of the programme is heard once segments are encoded
and their encodes joined.

The programme is PCM at SAMPLE_RATE; the encoders resample it to OUTPUT_RATE, so one
PCM frame becomes UPSAMPLE output samples. An encoder emits whole frames (1152 samples
for MP3, 1024 for AAC) and delays its input: the input's first sample is decoded
`delay` samples into the stream (LAME: 576 encoder + 529 decoder delay; AAC: one
priming frame). A file made of joined encodes is heard from `delay` on: the MP3's
Info frame tells gapless decoders to skip it, and the M4B's first AAC frame (the
priming) is left out. So where segment j's frames begin in the joined stream is
exactly where its first PCM frame is heard.

Each segment is encoded with SPARE_PCM_FRAMES of room tone beyond its own length, and
only the whole number of its frames nearest its own length is kept: so the pause at
every join is the script's within half a frame (13 ms), and an edit never changes the
encode of another segment. A segment's spoken content is never cut. (Placing each
segment nearest its ideal place in the whole file instead would bound the drift of the
file's length, which nothing needs, at the price of twice that error in a pause.)
The AAC follows the MP3's actual places instead, so that the M4B and the MP3 hear
every sentence within half an AAC frame of each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_RATE = 22050  # the programme's PCM (espeak-ng speaks at this rate)
OUTPUT_RATE = 44100  # the encoded files'
UPSAMPLE = OUTPUT_RATE // SAMPLE_RATE
# Room tone encoded past each segment's end, so that a join can keep up to this much
# more than the segment's own length (a frame and a half of MP3 is needed).
SPARE_PCM_FRAMES = 1152


@dataclass(frozen=True)
class Codec:
    """An encoder's framing: samples per frame and the delay before the input is heard."""

    name: str
    frame: int  # output samples per frame
    delay: int  # output samples before the input's first sample


MP3 = Codec("mp3", frame=1152, delay=1105)
AAC = Codec("aac", frame=1024, delay=1024)
# What the MP3 Info frame's LAME tag records so that a gapless decoder skips exactly
# MP3.delay samples (it adds the decoder's 529 to the encoder delay) and trims nothing
# at the end (it trims `padding - 529`).
LAME_DECODER_DELAY = 529
LAME_ENCODER_DELAY = MP3.delay - LAME_DECODER_DELAY
LAME_PADDING = LAME_DECODER_DELAY


def output_samples(pcm_frames: int) -> int:
    """The output samples that `pcm_frames` of the programme become."""
    return pcm_frames * UPSAMPLE


def pcm_frames(ms: int) -> int:
    """Milliseconds as programme PCM frames."""
    return round(ms * SAMPLE_RATE / 1000)


def to_ms(samples: int) -> int:
    """Output samples as whole milliseconds."""
    return round(samples * 1000 / OUTPUT_RATE)


def frames_to_keep_at_least(codec: Codec, pcm: int) -> int:
    """The fewest frames of an encode that contain its first `pcm` PCM frames whole."""
    return -(-(codec.delay + output_samples(pcm)) // codec.frame)


@dataclass(frozen=True)
class Placeable:
    """What placement needs of one encoded segment: its frames and what must be kept."""

    frames: int  # frames the encode has
    least: int  # frames that must be kept (they hold the spoken content)


def place(codec: Codec, segments: Sequence[Placeable], lengths: Sequence[int]) -> list[int]:
    """How many frames of each segment to keep, joined in order into one file, so that
    each lasts as near as can be its length in `lengths` (output samples)."""
    kept = []
    for index, (segment, length) in enumerate(zip(segments, lengths, strict=True)):
        # The file is heard from its first segment's delay on: the last segment keeps
        # that much more, so that the file's heard length is the segments' lengths.
        extra = codec.delay if index == len(segments) - 1 else 0
        kept.append(_count(segment, length + extra, codec))
    return kept


def follow(codec: Codec, segments: Sequence[Placeable], starts: Sequence[int]) -> list[int]:
    """How many frames of each segment to keep so that segment j is heard nearest
    `starts[j]` (`starts[0]` is 0) and the file ends nearest `starts[-1]`."""
    if len(starts) != len(segments) + 1 or starts[0] != 0:
        raise ValueError("a start per segment, the first at 0, and the end")
    kept = []
    position = 0
    for segment, target in zip(segments, [*starts[1:-1], starts[-1] + codec.delay],
                               strict=True):
        kept.append(_count(segment, target - position, codec))
        position += kept[-1] * codec.frame
    return kept


def _count(segment: Placeable, samples: int, codec: Codec) -> int:
    return max(segment.least, min(segment.frames, round(samples / codec.frame)))


def heard_starts(codec: Codec, kept: Sequence[int]) -> list[int]:
    """Where each placed segment is heard, and (last) the heard length of the file."""
    starts = [0]
    for count in kept:
        starts.append(starts[-1] + count * codec.frame)
    starts[-1] -= codec.delay
    return starts
