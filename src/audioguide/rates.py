"""This machine's measured costs, kept in the cache so that `audioguide plan` can estimate.

Every render adds what it measured: CPU seconds per character synthesized (per engine),
per second of audio encoded, and per edition written. They are kept per machine
(`rates/<host>.json` in the cache), since a shared cache serves machines of different
speeds, as decaying sums: recent renders count most. The file is replaced whole through
a rename, so a reader never sees half of it; two renders finishing at once may each miss
the other's figures, which only makes an estimate a little older.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fsutil import write_atomically

FOLDER = "rates"
SYNTHESIS = "synthesis"  # CPU seconds per character spoken, under each engine's name
ENCODING = "encoding"  # CPU seconds per second of audio encoded (mastering and encoders)
PUBLISHING = "publishing"  # CPU seconds per edition written (every format, the manifest)
# Older figures count this much less each time a render adds its own.
DECAY = 0.8


@dataclass(frozen=True)
class Rates:
    """CPU seconds per unit of work, as measured on this machine; None where never measured."""

    synthesis: dict[str, float]  # by engine name: per character spoken
    encoding: float | None  # per second of audio encoded
    publishing: float | None  # per edition written

    def estimate(self, engine: str, characters: int, encode_s: float, editions: int
                 ) -> float | None:
        """CPU seconds for this much work, or None when a rate it needs was never measured."""
        total = 0.0
        if characters:
            if engine not in self.synthesis:
                return None
            total += characters * self.synthesis[engine]
        if encode_s:
            if self.encoding is None:
                return None
            total += encode_s * self.encoding
        if editions:
            if self.publishing is None:
                return None
            total += editions * self.publishing
        return total


@dataclass(frozen=True)
class Measured:
    """What one render measured: (CPU seconds, units) for each kind of work it did."""

    engine: str
    synthesis: tuple[float, float] = (0.0, 0.0)  # units: characters
    encoding: tuple[float, float] = (0.0, 0.0)  # units: seconds of audio
    publishing: tuple[float, float] = (0.0, 0.0)  # units: editions


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (workers, ffmpeg)."""
    try:
        import resource
    except ImportError:  # Windows: this process's own time only
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def path(cache: Path) -> Path:
    """This machine's rates file in the cache."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", platform.node()) or "this-machine"
    return cache / FOLDER / f"{host}.json"


def read(cache: Path) -> Rates:
    """This machine's rates; empty when no render has measured any."""
    data = _load(path(cache))
    engines = data.get(SYNTHESIS)
    synthesis = {name: rate for name, entry in engines.items()
                 if (rate := _rate(entry)) is not None} if isinstance(engines, dict) else {}
    return Rates(synthesis, _rate(data.get(ENCODING)), _rate(data.get(PUBLISHING)))


def record(cache: Path, measured: Measured) -> None:
    """Add a render's measurements to this machine's rates (best effort: a render stands
    whether or not they can be written)."""
    target = path(cache)
    data = _load(target)
    engines = data.setdefault(SYNTHESIS, {})
    if not isinstance(engines, dict):
        engines = data[SYNTHESIS] = {}
    engines[measured.engine] = _add(engines.get(measured.engine), measured.synthesis)
    data[ENCODING] = _add(data.get(ENCODING), measured.encoding)
    data[PUBLISHING] = _add(data.get(PUBLISHING), measured.publishing)
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, json.dumps(data, indent=1, sort_keys=True))


def _load(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _add(entry: object, measured: tuple[float, float]) -> dict[str, float]:
    cpu, units = measured
    old_cpu = old_units = 0.0
    if isinstance(entry, dict):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            old_cpu, old_units = float(entry["cpu_s"]), float(entry["units"])
    if units <= 0:
        return {"cpu_s": old_cpu, "units": old_units}
    return {"cpu_s": old_cpu * DECAY + max(0.0, cpu), "units": old_units * DECAY + units}


def _rate(entry: object) -> float | None:
    if not isinstance(entry, dict):
        return None
    try:
        cpu, units = float(entry["cpu_s"]), float(entry["units"])
    except (KeyError, TypeError, ValueError):
        return None
    return cpu / units if units > 0 else None
