"""File and folder names derived from titles: safe on Linux, macOS and Windows."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG_CHARS = 60

# Names Windows refuses for a file whatever its extension.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}


def slugify(text: str, fallback: str = "untitled") -> str:
    """A lowercase ASCII name made of letters, digits and single hyphens.

    It can never be empty, `.`/`..`, a reserved Windows device name, or longer
    than MAX_SLUG_CHARS, so it is safe as one path component anywhere.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:MAX_SLUG_CHARS].rstrip("-")
    if not slug:
        slug = fallback
    if slug in _RESERVED:
        slug = f"{slug}-"[:MAX_SLUG_CHARS] + "x"
    return slug


def unique_slugs(titles: list[str]) -> list[str]:
    """Slugs for several titles, numbered where two would collide."""
    seen: set[str] = set()
    result = []
    for title in titles:
        base = slugify(title)
        slug, n = base, 2
        while slug in seen:
            suffix = f"-{n}"
            slug = base[: MAX_SLUG_CHARS - len(suffix)].rstrip("-") + suffix
            n += 1
        seen.add(slug)
        result.append(slug)
    return result
