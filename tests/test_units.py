"""Times and sizes as each reader expects them, all from one module."""

from __future__ import annotations

from audioguide import units


def test_clocks_for_each_reader() -> None:
    """WebVTT, SMIL, DAISY, show notes, players, ISO durations and media fragments."""
    at = 3_723_456  # 1 h 2 min 3.456 s
    assert units.vtt_timestamp(at) == "01:02:03.456"
    assert units.smil_clock(at) == "1:02:03.456"
    assert units.padded_clock(at) == "01:02:03.456"
    assert units.hh_mm_ss(at) == "01:02:03"
    assert units.hh_mm_ss(3_723_500) == "01:02:04"  # to the nearest second
    assert units.mm_ss(at) == "62:03"
    assert units.player_clock(at) == "1:02:03"
    assert units.player_clock(70_999) == "1:10"  # whole seconds, as players count
    assert units.length(at) == "1:02:03"
    assert units.iso_duration(at) == "PT1H2M3S"
    assert units.iso_duration(5_000) == "PT5S"
    assert units.decimal_seconds(62_345) == "62.345"
    assert units.json_seconds(62_000) == 62 and units.json_seconds(62_345) == 62.345
    assert units.vtt_timestamp(-5) == "00:00:00.000"


def test_sizes_for_people_and_for_columns() -> None:
    """Sizes read aloud on the page, and aligned to one decimal in the terminal."""
    assert units.size(812) == "812 bytes"
    assert units.size(64_400) == "64 KB"
    assert units.size(4_120_000) == "4.1 MB"
    assert units.size_column(772) == "772 B"
    assert units.size_column(66_900) == "66.9 KB"
    assert units.size_column(3_900_000) == "3.9 MB"
