"""Times and sizes as text: the one place they are formatted, for every output.

Each format is the one its reader expects (WebVTT, SMIL, DAISY, HTML, podcast apps,
a terminal); times come in as int milliseconds.
"""

from __future__ import annotations


def _parts(ms: int) -> tuple[int, int, int, int]:
    """Hours, minutes, seconds and milliseconds of a non-negative time."""
    seconds, millis = divmod(max(0, ms), 1000)
    return seconds // 3600, seconds // 60 % 60, seconds % 60, millis


def _rounded(ms: int) -> int:
    """A time rounded to the nearest whole second, in ms."""
    return (max(0, ms) + 500) // 1000 * 1000


def vtt_timestamp(ms: int) -> str:
    """WebVTT, with hours always: 01:02:03.456."""
    hours, minutes, seconds, millis = _parts(ms)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def smil_clock(ms: int) -> str:
    """A SMIL 3.0 full clock value (EPUB media overlays): 0:01:02.345."""
    hours, minutes, seconds, millis = _parts(ms)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def padded_clock(ms: int) -> str:
    """A clock with two-digit hours and milliseconds (DAISY 2.02 SMIL): 00:01:02.345."""
    return vtt_timestamp(ms)


def hh_mm_ss(ms: int) -> str:
    """To the nearest second with two-digit hours: 00:01:02 (ncc:totalTime, show notes)."""
    hours, minutes, seconds, _ = _parts(_rounded(ms))
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def mm_ss(ms: int) -> str:
    """To the nearest second in minutes, for times under an hour's worth: 61:05."""
    hours, minutes, seconds, _ = _parts(_rounded(ms))
    return f"{minutes + 60 * hours:02d}:{seconds:02d}"


def player_clock(ms: int) -> str:
    """As players show a position, in whole seconds: 0:00, 1:10, 1:02:03."""
    hours, minutes, seconds, _ = _parts(ms)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def length(ms: int) -> str:
    """A length to the nearest second with hours: 0:06:37 (the render summary)."""
    hours, minutes, seconds, _ = _parts(_rounded(ms))
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def iso_duration(ms: int) -> str:
    """An ISO 8601 duration in whole seconds, for HTML `<time>`: PT1H2M3S."""
    hours, minutes, seconds, _ = _parts(ms)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + f"{seconds}S"


def decimal_seconds(ms: int) -> str:
    """Seconds with milliseconds: 62.345 (SMIL npt= and dur=, media fragments)."""
    return f"{ms // 1000}.{ms % 1000:03d}"


def json_seconds(ms: int) -> int | float:
    """Seconds as a JSON number, whole where it is whole: 62, 62.345."""
    seconds = round(ms / 1000, 3)
    return int(seconds) if seconds == int(seconds) else seconds


def size(count: int) -> str:
    """A file size as people read (and screen readers speak) it: 812 bytes, 64 KB, 4.1 MB."""
    if count < 1000:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "KB" else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def size_column(count: int) -> str:
    """A file size for a terminal's aligned column, to one decimal: 772 B, 66.9 KB."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def rough(ms: int) -> str:
    """A length in words, as precise as an estimate deserves: 3.2 s, 4 min 10 s, 2 h 5 min."""
    if ms < 60_000:
        return f"{max(0, ms) / 1000:.1f} s"
    hours, minutes, seconds, _ = _parts(_rounded(ms))
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s"
