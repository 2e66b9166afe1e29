"""A cover image generated from the title: audiobook and podcast apps show it in every list."""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import Edition

SIZE = 1400
BACKGROUND = (24, 38, 58)
INK = (250, 246, 238)
ACCENT = (236, 180, 90)


def draw_cover(path: Path, title: str, byline: str, caption: str) -> None:
    """A square RGB PNG of SIZE px (Apple asks 1400 to 3000) with the title and a byline."""
    image = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=96)
    small_font = ImageFont.load_default(size=48)
    lines = textwrap.wrap(title, width=20)[:6]
    y = 260
    for line in lines:
        draw.text((120, y), line, font=title_font, fill=INK)
        y += 124
    draw.rectangle((120, y + 40, 420, y + 52), fill=ACCENT)
    draw.text((120, y + 110), byline, font=small_font, fill=INK)
    draw.text((120, SIZE - 200), caption, font=small_font, fill=ACCENT)
    image.save(path, format="PNG")


def write(edition: Edition) -> list[Path]:
    draw_cover(edition.cover, edition.script.title, edition.script.author, "Audio edition")
    return [edition.cover]
