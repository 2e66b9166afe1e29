"""The speech engines compared on one script: render time, real-time factor, and how well
an independent recognizer understands each rendering.

    .venv/bin/python -m bench.engines [SCRIPT] [--engine NAME]... [--jobs N]

For each engine (default: pyttsx3 and piper) the script is rendered once into a fresh
folder with an empty clip cache (every format), and the figures are:

- render: the whole render's wall time, cold;
- RTF: the narration stage's wall time (synthesis in the workers) over the edition's
  duration, and, with --jobs N, that time times N (the work of one worker);
- WER: the word error rate of pocketsphinx (its bundled US English model) reading the
  book MP3, resampled to 16 kHz mono by ffmpeg and cut at its pauses, against the
  script's written text (lower-cased words; digits stay digits, so both engines lose
  the same words there).

It needs the `measure` extra (pip install -e '.[measure]'); it is not part of the tests
or CI. A shared machine is noisy: compare engines within one run.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from audioguide import render as render_module
from audioguide.render import RenderOptions, render
from audioguide.script import parse_script

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "script" / "crying-during-sex.md"
SAMPLE_RATE = 16_000
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Figures:
    """One engine's render of the script."""

    engine: str
    render_s: float
    narrate_s: float
    audio_s: float
    words: int
    wer: float


def words(text: str) -> list[str]:
    """Lower-cased words, punctuation dropped, hyphenated words split."""
    return WORD.findall(text.lower().replace("’", "'"))


def word_error_rate(reference: list[str], heard: list[str]) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    previous = list(range(len(heard) + 1))
    for i, said in enumerate(reference, 1):
        current = [i]
        for j, got in enumerate(heard, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (said != got)))
        previous = current
    return previous[-1] / max(1, len(reference))


def recognize(mp3: Path) -> list[str]:
    """What pocketsphinx hears in an MP3, resampled to 16 kHz mono, segment by segment."""
    from pocketsphinx import Decoder, Segmenter

    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(mp3), "-ac", "1", "-ar",
                          str(SAMPLE_RATE), "-f", "s16le", "-"], capture_output=True,
                         check=True).stdout
    decoder = Decoder(samprate=SAMPLE_RATE)
    heard: list[str] = []
    for segment in Segmenter(sample_rate=SAMPLE_RATE).segment(io.BytesIO(pcm)):
        decoder.start_utt()
        decoder.process_raw(segment.pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is not None:
            heard.extend(words(decoder.hyp().hypstr))
    return heard


@contextmanager
def timed_narration(spent: list[float]) -> Iterator[None]:
    """Record how long the render's narration stage takes."""
    original = render_module.narrate

    def narrate(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            spent.append(time.perf_counter() - started)

    render_module.narrate = narrate  # type: ignore[assignment]
    try:
        yield
    finally:
        render_module.narrate = original


def measure(script: Path, engine: str, jobs: int, work: Path) -> Figures:
    """Render `script` cold with `engine` and measure it."""
    spent: list[float] = []
    started = time.perf_counter()
    with timed_narration(spent):
        result = render(script, RenderOptions(output=work / "audio", engine=engine,
                                              cache=work / "cache", jobs=jobs))
    render_s = time.perf_counter() - started
    parsed = parse_script(script)
    reference = [w for sentence in parsed.sentences() for w in words(sentence.text)]
    heard = recognize(result.folder / f"{result.folder.name}.mp3")
    content = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    return Figures(engine, render_s, sum(spent), content["duration_ms"] / 1000, len(reference),
                   word_error_rate(reference, heard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("script", nargs="?", type=Path, default=ARTICLE)
    parser.add_argument("--engine", action="append", dest="engines")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for engine in args.engines or ["pyttsx3", "piper"]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as work:
            rows.append(measure(args.script, engine, args.jobs, Path(work)))
        row = rows[-1]
        print(f"{row.engine}: render {row.render_s:.1f} s cold; narration {row.narrate_s:.1f} s "
              f"for {row.audio_s:.1f} s of audio, RTF {row.narrate_s / row.audio_s:.3f} "
              f"({row.narrate_s * args.jobs / row.audio_s:.3f} per worker, --jobs {args.jobs}); "
              f"WER {row.wer:.2f} over {row.words} words", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
