"""Just enough of the MPEG audio frame formats to join encodes frame by frame.

An MP3 made by LAME is a sequence of self-delimiting frames, the first of which may
be a Xing/Info frame (silent; it carries the frame count, and the gapless delay and
padding in its LAME tag). audioguide encodes segments without it, so streams that
each begin with an empty bit reservoir join frame by frame; each joined file then
gets one Info frame of its own, so that players read its exact length instead of
estimating it from the bit rate, and gapless decoders skip the encoder's delay.
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


def frame_offsets(data: bytes) -> list[int]:
    """Where each MP3 frame starts, and last the stream's end: keeping k frames is
    keeping the first `offsets[k]` bytes."""
    offsets = [offset for offset, _, _ in frames(data)]
    return offsets + [len(data)] if offsets else [0]


def adts_offsets(data: bytes) -> list[int]:
    """Where each ADTS frame starts, and last the stream's end."""
    offset = 0
    offsets = []
    while offset + 7 <= len(data):
        if data[offset] != 0xFF or data[offset + 1] & 0xF6 != 0xF0:
            raise EncodeError(f"not an ADTS frame at byte {offset}")
        length = (((data[offset + 3] & 0x03) << 11) | (data[offset + 4] << 3)
                  | (data[offset + 5] >> 5))
        if length < 7:
            raise EncodeError(f"a damaged ADTS frame at byte {offset}")
        offsets.append(offset)
        offset += length
    if offset != len(data):
        raise EncodeError("the ADTS stream ends inside a frame")
    return [*offsets, offset]


# The Info frame: a silent frame whose side information is zero, then the Xing
# fields (in an MPEG-1 mono frame they start after 4 header and 17 side-info bytes),
# then LAME's tag. Its layout: http://gabriel.mp3-tech.org/mp3infotag.html
# It is marked "Xing" rather than LAME's "Info" for constant bit rates: some readers
# (eyeD3 among them) take the frame count only from a "Xing" header and otherwise
# estimate the length from the file size. With a linear seek table the two read alike.
_XING_OFFSET_MONO_V1 = 4 + 17
_XING_FLAGS = 0x0F  # frame count, byte count, seek table, quality
_LAME_VERSION = b"LAME3.100"
_CBR = 1
_SOURCE_44100 = 1 << 6


def info_frame(header: bytes, audio_frames: int, audio_bytes: int, delay: int,
               padding: int) -> bytes:
    """An Info frame for a constant-bit-rate MPEG-1 mono stream whose first frame
    header is `header`: its frame and byte counts, a seek table, and the encoder
    delay and padding that gapless decoders skip."""
    value = int.from_bytes(header[:4], "big")
    if (value >> 19) & 3 != 3 or (value >> 6) & 3 != 3:
        raise EncodeError("an Info frame is only written for MPEG-1 mono streams")
    value &= ~(1 << 9)  # no padding byte: the frame has the bit rate's plain length
    bitrate = _BITRATES_V1[(value >> 12) & 0xF] * 1000
    rate = _RATES[3][(value >> 10) & 3]
    length = 144 * bitrate // rate
    total = length + audio_bytes
    frame = bytearray(length)
    frame[:4] = value.to_bytes(4, "big")
    body = bytearray(b"Xing")
    body += _XING_FLAGS.to_bytes(4, "big") + audio_frames.to_bytes(4, "big")
    body += total.to_bytes(4, "big")
    body += bytes(i * 256 // 100 for i in range(100))  # a constant bit rate's seek table
    body += (0).to_bytes(4, "big")  # quality
    body += _LAME_VERSION + bytes([_CBR, 0]) + bytes(4 + 2 + 2 + 1)  # lowpass..flags
    body += bytes([min(255, bitrate // 1000)])
    body += ((delay << 12) | padding).to_bytes(3, "big")
    body += bytes([_SOURCE_44100, 0, 0, 0]) + total.to_bytes(4, "big") + bytes(2)
    end = _XING_OFFSET_MONO_V1 + len(body)
    frame[_XING_OFFSET_MONO_V1:end] = body
    frame[end:end + 2] = crc16(bytes(frame[:end])).to_bytes(2, "big")
    return bytes(frame)


def crc16(data: bytes) -> int:
    """CRC-16 (polynomial 0x8005, reflected), as LAME protects its tag."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
