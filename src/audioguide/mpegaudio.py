"""Just enough of the MPEG audio frame formats to count what a stream decodes to.

An MP3 made by LAME is a sequence of self-delimiting frames, the first of which may
be a Xing/Info frame (silent; it carries the gapless delay and padding). audioguide
encodes without it, so streams that each begin with an empty bit reservoir join
frame by frame and a decoder plays every frame: offsets are exact sums. These
counts check that every encode has the length the timeline gives it.
"""

from __future__ import annotations

from collections.abc import Iterator

from .errors import EncodeError

# MPEG-1 Layer III bitrates (kb/s) by index; MPEG-2/2.5 Layer III ones.
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def skip_id3v2(data: bytes) -> int:
    """The offset of the first byte after a leading ID3v2 tag (0 when there is none)."""
    if len(data) >= 10 and data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        return 10 + size + footer
    return 0


def frames(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, length, samples) of each Layer III frame after any ID3v2 tag."""
    offset = skip_id3v2(data)
    end = len(data)
    while offset + 4 <= end:
        header = int.from_bytes(data[offset:offset + 4], "big")
        if header >> 21 != 0x7FF:
            if data[offset:offset + 3] == b"TAG":  # an ID3v1 tag ends the stream
                return
            raise EncodeError(f"not an MPEG audio frame at byte {offset}")
        version = (header >> 19) & 3
        layer = (header >> 17) & 3
        bitrate_index = (header >> 12) & 0xF
        rate_index = (header >> 10) & 3
        padding = (header >> 9) & 1
        if layer != 1 or version == 1 or bitrate_index in (0, 15) or rate_index == 3:
            raise EncodeError(f"unsupported MPEG audio frame at byte {offset}")
        mpeg1 = version == 3
        bitrate = (_BITRATES_V1 if mpeg1 else _BITRATES_V2)[bitrate_index] * 1000
        rate = _RATES[version][rate_index]
        samples = 1152 if mpeg1 else 576
        length = samples // 8 * bitrate // rate + padding
        if offset + length > end:
            raise EncodeError(f"the MP3 stream ends inside a frame at byte {offset}")
        yield offset, length, samples
        offset += length


def is_info_frame(frame: bytes) -> bool:
    """True for the Xing/Info frame LAME puts first (it decodes as silence)."""
    return b"Xing" in frame[:48] or b"Info" in frame[:48]


def audio_frames(data: bytes) -> tuple[bytes, int]:
    """The frames of an MP3 without tags or Info frame, and the samples they decode to."""
    parts: list[bytes] = []
    total = 0
    for offset, length, samples in frames(data):
        frame = data[offset:offset + length]
        if not parts and total == 0 and is_info_frame(frame):
            continue
        parts.append(frame)
        total += samples
    return b"".join(parts), total


def adts_frames(data: bytes) -> int:
    """The number of AAC frames in a raw ADTS stream (each decodes to 1024 samples)."""
    offset = count = 0
    while offset + 7 <= len(data):
        if data[offset] != 0xFF or data[offset + 1] & 0xF6 != 0xF0:
            raise EncodeError(f"not an ADTS frame at byte {offset}")
        length = (((data[offset + 3] & 0x03) << 11) | (data[offset + 4] << 3)
                  | (data[offset + 5] >> 5))
        if length < 7:
            raise EncodeError(f"a damaged ADTS frame at byte {offset}")
        offset += length
        count += 1
    if offset != len(data):
        raise EncodeError("the ADTS stream ends inside a frame")
    return count
